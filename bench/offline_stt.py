"""Is a packaged offline speech recognizer good enough for calls? Measure before building one in.

The candidate is the one engine whose model ships inside its wheel: pocketsphinx (CMU Sphinx,
en-US acoustic and language models). It is not a dependency of the project; run this with
`uv run --with pocketsphinx python bench/offline_stt.py`.

Speech comes from espeak-ng (what the built-in voice says; the emulated people of issue 19 will
speak with it too), for sentences a caller says to a voice agent. Two conditions: wideband
(16 kHz) and telephone band (through 8 kHz and back, as G.711 carries it). Prints the word error
rate and the real-time factor of each; the synthesis time per second of audio is printed beside
them as the reference cost of the same audio.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import shutil
import subprocess
import sys
import time
import wave
from dataclasses import dataclass

from livekit import rtc

SENTENCES = [
    "I would like to book a table for four people tonight",
    "Can you tell me your opening hours on Sunday",
    "My order number is five three two one",
    "I need to change my delivery address",
    "Yes that is correct",
    "No thank you that is all",
    "What is the price of the premium plan",
    "Please cancel my appointment for tomorrow morning",
    "I did not receive the package yet",
    "Could you repeat that please",
    "I want to speak to a human agent",
    "The internet at my house stopped working this morning",
    "How long does shipping take to Canada",
    "My name is John Smith and I am calling about my bill",
    "Goodbye and have a nice day",
]


@dataclass
class Result:
    """One condition's figures."""

    condition: str
    errors: int
    words: int
    audio_s: float
    decode_s: float

    @property
    def wer(self) -> float:
        return self.errors / self.words

    @property
    def rtf(self) -> float:
        return self.decode_s / self.audio_s


def speak(text: str) -> tuple[bytes, int]:
    """16-bit mono PCM of espeak-ng saying `text`, and its sample rate."""
    wav = subprocess.run(
        ["espeak-ng", "--stdin", "--stdout", "-v", "en-us", "-s", "165"],
        input=text.encode(),
        capture_output=True,
        check=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        return reader.readframes(reader.getnframes()), reader.getframerate()


def resample(pcm: bytes, rate_in: int, rate_out: int) -> bytes:
    """`pcm` at `rate_out` (livekit's resampler, the one the agent's audio goes through)."""
    resampler = rtc.AudioResampler(rate_in, rate_out, num_channels=1)
    frame = rtc.AudioFrame(pcm, rate_in, 1, len(pcm) // 2)
    out = [*resampler.push(frame), *resampler.flush()]
    return b"".join(bytes(f.data) for f in out)


def word_errors(reference: str, hypothesis: str) -> int:
    """Substitutions + insertions + deletions between the two word sequences (Levenshtein)."""
    ref, hyp = reference.lower().split(), hypothesis.lower().split()
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        current = [i]
        for j, guess in enumerate(hyp, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != guess))
            )
        previous = current
    return previous[-1]


def normalize(text: str) -> str:
    return re.sub(r"[^a-z' ]", "", text.lower())


def run(condition: str, to_8k: bool) -> Result:
    from pocketsphinx import Decoder  # the candidate, installed only for this measurement

    decoder = Decoder()
    errors = words = 0
    audio_s = decode_s = 0.0
    for sentence in SENTENCES:
        pcm, rate = speak(sentence)
        audio = resample(pcm, rate, 8_000) if to_8k else pcm
        audio = resample(audio, 8_000 if to_8k else rate, 16_000)
        audio_s += len(audio) / 2 / 16_000
        started = time.perf_counter()
        decoder.start_utt()
        decoder.process_raw(audio, full_utt=True)
        decoder.end_utt()
        decode_s += time.perf_counter() - started
        hypothesis = decoder.hyp().hypstr if decoder.hyp() else ""
        errors += word_errors(normalize(sentence), normalize(hypothesis))
        words += len(sentence.split())
        print(f"  [{condition}] {sentence!r} -> {hypothesis!r}")
    return Result(condition, errors, words, audio_s, decode_s)


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is not installed: run tools/dev/system-packages.sh")
    started = time.perf_counter()
    total = sum(len(speak(s)[0]) / 2 / 22_050 for s in SENTENCES)
    synthesis = time.perf_counter() - started
    results = [run("wideband 16 kHz", to_8k=False), run("telephone 8 kHz", to_8k=True)]
    print(
        f"\noffline STT candidate: pocketsphinx (en-US model inside its wheel), {len(SENTENCES)} "
        f"sentences, {sum(len(s.split()) for s in SENTENCES)} words, espeak-ng speech"
    )
    for r in results:
        print(f"  {r.condition}: word error rate {r.wer:.1%}, real-time factor {r.rtf:.3f}")
    print(
        f"  reference: espeak-ng synthesized the same {total:.1f} s of audio at a real-time "
        f"factor of {synthesis / total:.3f}"
    )


if __name__ == "__main__":
    asyncio.run(asyncio.sleep(0))  # livekit's FFI wants an event loop to have existed
    main()
