import { X } from "lucide-react";
import { useRef } from "react";
import { useFocusTrap } from "./Dialog";

/** Tablet and mobile: the full list in a slide-in drawer. */
export function Drawer({ onClose, children, label = "Phone numbers menu" }: { onClose: () => void; children: React.ReactNode; label?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useFocusTrap(ref, onClose);
  return (
    <div className="overlay overlay-drawer" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div ref={ref} className="drawer" role="dialog" aria-modal="true" aria-label={label} tabIndex={-1}>
        <button type="button" className="icon-button drawer-close" aria-label="Close menu" onClick={onClose}>
          <X size={18} aria-hidden />
        </button>
        {children}
      </div>
    </div>
  );
}
