{{/* Names, labels and the per-service environment shared by every template. */}}

{{- define "talkifai.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "talkifai.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "talkifai.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The components: values key, HTTP port, the variable the service reads its port from, args. */}}
{{- define "talkifai.components" -}}
numbers-api:
  key: numbersApi
  port: 8010
  portEnv: NUMBERS_API_PORT
  args: ["serve"]
  database: numbersApi
  databaseKey: NUMBERS_API_DATABASE_URL
  readyPath: /readyz
  runAsUser: 10001
  public: true
trunk-sync:
  key: trunkSync
  port: 8030
  portEnv: TRUNK_SYNC_PORT
  args: []
  database: ""
  databaseKey: ""
  readyPath: /readyz
  runAsUser: 10001
  public: false
call-orchestrator:
  key: callOrchestrator
  port: 8020
  portEnv: CALL_ORCHESTRATOR_PORT
  args: ["serve"]
  database: callOrchestrator
  databaseKey: CALL_ORCHESTRATOR_DATABASE_URL
  readyPath: /readyz
  runAsUser: 10001
  public: true
agent-runtime:
  key: agentRuntime
  port: 8040
  portEnv: AGENT_RUNTIME_PORT
  args: []
  database: ""
  databaseKey: ""
  readyPath: /readyz
  runAsUser: 10001
  public: false
studio:
  key: studio
  port: 8080
  portEnv: NGINX_PORT
  args: []
  database: ""
  databaseKey: ""
  readyPath: /healthz
  runAsUser: 101
  public: true
{{- end -}}

{{- define "talkifai.labels" -}}
helm.sh/chart: {{ include "talkifai.chart" .root }}
{{ include "talkifai.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: talkifai-telephony
{{- end -}}

{{/* Selector labels of one component: dict "root" $ "component" "numbers-api". */}}
{{- define "talkifai.selectorLabels" -}}
app.kubernetes.io/name: {{ include "talkifai.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "talkifai.componentName" -}}
{{- printf "%s-%s" (include "talkifai.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "talkifai.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "talkifai.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "talkifai.secretName" -}}
{{- default (include "talkifai.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "talkifai.providersSecretName" -}}
{{- default (printf "%s-providers" (include "talkifai.fullname" .)) .Values.agentRuntime.providers.existingSecret -}}
{{- end -}}

{{/* The image of a component: dict "root" $ "values" <component values>. */}}
{{- define "talkifai.image" -}}
{{- $tag := .values.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .values.image.repository $tag -}}
{{- end -}}

{{/* One variable from the chart's Secret: dict "root" $ "name" "FERNET_KEYS". */}}
{{- define "talkifai.secretEnv" -}}
- name: {{ .env | default .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "talkifai.secretName" .root }}
      key: {{ .name }}
{{- end -}}

{{/* In-cluster URL of a component's Service. */}}
{{- define "talkifai.url" -}}
{{- $c := index (include "talkifai.components" .root | fromYaml) .component -}}
{{- printf "http://%s:%v" (include "talkifai.componentName" .) $c.port -}}
{{- end -}}

{{/* Settings of every Python service (ServiceSettings in libs/common). */}}
{{- define "talkifai.commonEnv" -}}
{{- $root := .root -}}
{{- $attrs := list (printf "k8s.namespace.name=%s" $root.Release.Namespace) "k8s.pod.name=$(K8S_POD_NAME)" (printf "service.version=%s" $root.Chart.AppVersion) -}}
{{- with $root.Values.otel.resourceAttributes }}{{ $attrs = append $attrs . }}{{ end -}}
- name: DEV_MODE
  value: {{ $root.Values.config.devMode | quote }}
- name: LOG_LEVEL
  value: {{ $root.Values.config.logLevel | quote }}
- name: LOG_FORMAT
  value: {{ $root.Values.config.logFormat | quote }}
- name: SHUTDOWN_GRACE_S
  value: {{ $root.Values.config.shutdownGraceSeconds | quote }}
- name: NATS_URL
  value: {{ $root.Values.nats.url | quote }}
- name: DATABASE_POOL_MIN
  value: {{ $root.Values.database.poolMin | quote }}
- name: DATABASE_POOL_MAX
  value: {{ $root.Values.database.poolMax | quote }}
{{- if $root.Values.auth.jwksUrl }}
- name: AUTH_JWKS_URL
  value: {{ $root.Values.auth.jwksUrl | quote }}
{{- else }}
{{ include "talkifai.secretEnv" (dict "root" $root "name" "AUTH_JWT_SECRET") }}
{{- end }}
{{- with $root.Values.auth.audience }}
- name: AUTH_JWT_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- with $root.Values.auth.issuer }}
- name: AUTH_JWT_ISSUER
  value: {{ . | quote }}
{{- end }}
- name: OTEL_SERVICE_NAME
  value: {{ .component | quote }}
{{- with $root.Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: http/protobuf
{{- end }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- end -}}

{{- define "talkifai.livekitEnv" -}}
- name: LIVEKIT_URL
  value: {{ .url | quote }}
{{ include "talkifai.secretEnv" (dict "root" .root "name" "LIVEKIT_API_KEY") }}
{{ include "talkifai.secretEnv" (dict "root" .root "name" "LIVEKIT_API_SECRET") }}
{{- end -}}

{{/* The full environment of one component: dict "root" $ "component" "numbers-api". */}}
{{- define "talkifai.env" -}}
{{- $root := .root -}}
{{- $c := index (include "talkifai.components" $root | fromYaml) .component -}}
{{- $v := index $root.Values $c.key -}}
- name: {{ $c.portEnv }}
  value: {{ $c.port | quote }}
{{- if eq .component "studio" }}
- name: NUMBERS_API_UPSTREAM
  value: {{ printf "%s:8010" (include "talkifai.componentName" (dict "root" $root "component" "numbers-api")) | quote }}
- name: CALL_ORCHESTRATOR_UPSTREAM
  value: {{ printf "%s:8020" (include "talkifai.componentName" (dict "root" $root "component" "call-orchestrator")) | quote }}
{{- else }}
{{ include "talkifai.commonEnv" . }}
{{- end }}
{{- if $c.databaseKey }}
{{ include "talkifai.secretEnv" (dict "root" $root "name" $c.databaseKey "env" "DATABASE_URL") }}
{{- end }}
{{- if eq .component "numbers-api" }}
{{ include "talkifai.secretEnv" (dict "root" $root "name" "FERNET_KEYS") }}
{{ include "talkifai.secretEnv" (dict "root" $root "name" "INTERNAL_API_TOKEN") }}
- name: ALLOW_PRIVATE_WEBHOOKS
  value: {{ $v.allowPrivateWebhooks | quote }}
- name: ALLOW_PRIVATE_SIP_DESTINATIONS
  value: {{ $root.Values.config.allowPrivate.sipDestinations | quote }}
- name: ALLOW_PRIVATE_MODEL_SERVERS
  value: {{ $root.Values.config.allowPrivate.modelServers | quote }}
{{- end }}
{{- if eq .component "trunk-sync" }}
{{ include "talkifai.livekitEnv" (dict "root" $root "url" $root.Values.livekit.url) }}
- name: ALLOW_PRIVATE_SIP_DESTINATIONS
  value: {{ $root.Values.config.allowPrivate.sipDestinations | quote }}
- name: NUMBERS_API_URL
  value: {{ include "talkifai.url" (dict "root" $root "component" "numbers-api") | quote }}
{{ include "talkifai.secretEnv" (dict "root" $root "name" "INTERNAL_API_TOKEN") }}
{{- end }}
{{- if eq .component "call-orchestrator" }}
{{ include "talkifai.livekitEnv" (dict "root" $root "url" $root.Values.livekit.url) }}
{{ include "talkifai.secretEnv" (dict "root" $root "name" "WEBHOOK_SIGNING_SECRET") }}
- name: ALLOW_PRIVATE_WEBHOOKS
  value: {{ $root.Values.numbersApi.allowPrivateWebhooks | quote }}
{{ include "talkifai.secretEnv" (dict "root" $root "name" "INTERNAL_API_TOKEN") }}
- name: NUMBERS_API_URL
  value: {{ include "talkifai.url" (dict "root" $root "component" "numbers-api") | quote }}
{{ include "talkifai.recordingEnv" $root }}
{{- end }}
{{- if eq .component "agent-runtime" }}
{{ include "talkifai.livekitEnv" (dict "root" $root "url" ($root.Values.livekit.workerUrl | default $root.Values.livekit.url)) }}
- name: NUMBERS_API_URL
  value: {{ include "talkifai.url" (dict "root" $root "component" "numbers-api") | quote }}
- name: CALL_ORCHESTRATOR_URL
  value: {{ include "talkifai.url" (dict "root" $root "component" "call-orchestrator") | quote }}
{{ include "talkifai.secretEnv" (dict "root" $root "name" "INTERNAL_API_TOKEN") }}
- name: ALLOW_PRIVATE_MODEL_SERVERS
  value: {{ $root.Values.config.allowPrivate.modelServers | quote }}
{{- with $root.Values.agentRuntime.providers.openaiBaseUrl }}
- name: OPENAI_BASE_URL
  value: {{ . | quote }}
{{- end }}
{{- range $key := list "OPENAI_API_KEY" "DEEPGRAM_API_KEY" "CARTESIA_API_KEY" "ELEVEN_API_KEY" "GOOGLE_API_KEY" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ include "talkifai.providersSecretName" $root }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end }}
{{- with $root.Values.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod security context of a component (the Studio's nginx runs as 101). */}}
{{- define "talkifai.podSecurityContext" -}}
{{- $ctx := deepCopy .root.Values.podSecurityContext -}}
{{- if ne (int .runAsUser) 10001 -}}
{{- $_ := set $ctx "runAsUser" (int .runAsUser) -}}
{{- $_ := set $ctx "runAsGroup" (int .runAsUser) -}}
{{- $_ := set $ctx "fsGroup" (int .runAsUser) -}}
{{- end -}}
{{- toYaml $ctx -}}
{{- end -}}

{{/* call-orchestrator's recording settings; the S3 keys come from recordings.s3.credentialsSecret.
RECORDING_BACKUP_DIR is where recordings.backup.existingClaim is mounted (talkifai.recordingBackup). */}}
{{- define "talkifai.recordingEnv" -}}
{{- $r := .Values.recordings -}}
- name: RECORDING_FILEPATH
  value: {{ $r.filepath | quote }}
- name: RECORDING_RETENTION_DAYS
  value: {{ $r.retentionDays | quote }}
- name: RECORDING_URL_TTL_S
  value: {{ $r.urlTtlSeconds | quote }}
- name: RECORDING_UPLOAD_INTERVAL_S
  value: {{ $r.uploadIntervalSeconds | quote }}
- name: RECORDING_UPLOAD_RETRY_MAX_S
  value: {{ $r.uploadRetryMaxSeconds | quote }}
- name: REPORT_WAIT_S
  value: {{ $r.reportWaitSeconds | quote }}
{{- with $r.publicApiUrl }}
- name: PUBLIC_API_URL
  value: {{ . | quote }}
{{- end }}
{{- if $r.backup.existingClaim }}
- name: RECORDING_BACKUP_DIR
  value: {{ $r.backup.mountPath | quote }}
{{- end }}
{{- with $r.s3.bucket }}
- name: RECORDING_S3_BUCKET
  value: {{ . | quote }}
- name: RECORDING_S3_PREFIX
  value: {{ $r.s3.prefix | quote }}
- name: RECORDING_S3_REGION
  value: {{ $r.s3.region | quote }}
- name: RECORDING_S3_FORCE_PATH_STYLE
  value: {{ $r.s3.forcePathStyle | quote }}
{{- with $r.s3.endpoint }}
- name: RECORDING_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with $r.s3.credentialsSecret.name }}
- name: RECORDING_S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $r.s3.credentialsSecret.accessKeyKey }}
- name: RECORDING_S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $r.s3.credentialsSecret.secretKeyKey }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The volume of egress's backup storage (recordings.backup.existingClaim), for the egress and
call-orchestrator pods: its `volumeMount` or its `volume` (callers check the claim is set). */}}
{{- define "talkifai.recordingBackup" -}}
{{- $b := .root.Values.recordings.backup -}}
{{- if eq .part "volumeMount" -}}
- name: recordings-backup
  mountPath: {{ $b.mountPath }}
{{- else -}}
- name: recordings-backup
  persistentVolumeClaim:
    claimName: {{ $b.existingClaim }}
{{- end -}}
{{- end -}}
