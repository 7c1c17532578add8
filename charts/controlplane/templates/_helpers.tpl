{{/* The release's object name prefix: "<release>-controlplane", or the release name when it
already says controlplane. */}}
{{- define "controlplane.fullname" -}}
{{- if contains "controlplane" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-controlplane" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels: what the Service and the Deployment select on (immutable). */}}
{{- define "controlplane.selectorLabels" -}}
app.kubernetes.io/name: controlplane
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels on every object: the platform finds its components by these. */}}
{{- define "controlplane.labels" -}}
{{ include "controlplane.selectorLabels" . }}
app.kubernetes.io/component: controlplane
app.kubernetes.io/part-of: controlplane
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "controlplane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "controlplane.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "controlplane.credentialsSecret" -}}
{{- default (printf "%s-credentials" (include "controlplane.fullname" .)) .Values.credentials.existingSecret -}}
{{- end -}}

{{- define "controlplane.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* A ConfigMap key for a file under files/<folder>/: the relative path with "/" as "__"
(keys cannot hold "/"; the volume's items put each file back at its path). */}}
{{- define "controlplane.fileKey" -}}
{{- . | replace "/" "__" -}}
{{- end -}}

{{/* The project folders carried as ConfigMaps, and the files of each. */}}
{{- define "controlplane.projectFolders" -}}
runbooks: "files/runbooks/*.yaml"
policies: "files/policies/**.{yaml,yml}"
experiments: "files/experiments/**.json"
{{- end -}}
