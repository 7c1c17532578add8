{{/* "<release>-<component>": the object name of one component. Call with (dict "root" $ "component" "gateway"). */}}
{{- define "testbed.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels (immutable): the component and the release. */}}
{{- define "testbed.selectorLabels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Labels on every object; the platform finds a component by name and instance. */}}
{{- define "testbed.labels" -}}
{{ include "testbed.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: trading-testbed
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "testbed.image" -}}
{{- printf "%s:%s" .repository (default .appVersion .tag) -}}
{{- end -}}

{{- define "testbed.secret" -}}
{{- default (printf "%s-trading-testbed" .Release.Name) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The ledger's write endpoint: the Service that follows Patroni's primary. */}}
{{- define "testbed.ledgerDsn" -}}
{{- printf "postgresql://trader@%s:5432/ledger" (include "testbed.fullname" (dict "root" . "component" "ledger")) -}}
{{- end -}}

{{- define "testbed.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "testbed.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* The container of gateway, matcher or marketdata: same probes, /metrics and tracing as in
the local cluster. Call with (dict "root" $ "component" "gateway" "values" .Values.gateway). */}}
{{- define "testbed.serviceContainer" -}}
{{- $root := .root -}}
name: {{ .component }}
image: {{ include "testbed.image" (merge (dict "appVersion" $root.Chart.AppVersion) $root.Values.image) }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
command: ["python", "/etc/testbed/start.py", {{ .component | quote }}, "/etc/testbed/{{ .component }}.json"]
env:
  - name: POD_NAME
    valueFrom:
      fieldRef:
        fieldPath: metadata.name
  - name: ADMIN_TOKEN
    valueFrom:
      secretKeyRef: {name: {{ include "testbed.secret" $root }}, key: admin-token}
  {{- if ne .component "marketdata" }}
  - name: PGPASSWORD
    valueFrom:
      secretKeyRef: {name: {{ include "testbed.secret" $root }}, key: app-password}
  {{- end }}
  {{- with $root.Values.tracing.tokenSecret }}
  {{- if .name }}
  - name: OTLP_TOKEN
    valueFrom:
      secretKeyRef: {name: {{ .name }}, key: {{ .key }}}
  {{- end }}
  {{- end }}
ports:
  - name: http
    containerPort: {{ .values.port }}
    protocol: TCP
startupProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 10
readinessProbe:
  httpGet: {path: /readyz, port: http}
  periodSeconds: 2
securityContext:
  {{- include "testbed.containerSecurity" . | nindent 2 }}
{{- with .values.resources }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumeMounts:
  - {name: config, mountPath: /etc/testbed, readOnly: true}
  - {name: tmp, mountPath: /tmp}
{{- end -}}

{{- define "testbed.serviceVolumes" -}}
- name: config
  configMap:
    name: {{ include "testbed.fullname" (dict "root" . "component" "service-config") }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "testbed.scheduling" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
