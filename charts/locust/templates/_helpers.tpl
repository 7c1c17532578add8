{{/* "<release>-locust-<role>". Call with (dict "root" $ "role" "master"). */}}
{{- define "locust.fullname" -}}
{{- printf "%s-locust-%s" .root.Release.Name .role | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "locust.selectorLabels" -}}
app.kubernetes.io/name: locust
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "locust.labels" -}}
{{ include "locust.selectorLabels" . }}
app.kubernetes.io/part-of: controlplane-load
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* -f: the locustfiles at their paths in the mounted ConfigMap. */}}
{{- define "locust.locustfiles" -}}
{{- $paths := list -}}
{{- range .Values.locustfiles }}{{ $paths = append $paths (printf "/loadtests/%s" .) }}{{ end -}}
{{- join "," $paths -}}
{{- end -}}

{{/* The pod spec both roles share: image, security, the loadtests volume. Call with
(dict "root" $ "restartPolicy" "Never" "args" (list ...) "resources" ... "ports" (list ...)). */}}
{{- define "locust.podSpec" -}}
{{- $root := .root -}}
restartPolicy: {{ .restartPolicy }}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: locust
    image: {{ printf "%s:%s" $root.Values.image.repository (default $root.Chart.AppVersion $root.Values.image.tag) }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    command: ["locust"]
    args:
      {{- toYaml .args | nindent 6 }}
    env:
      - {name: HOME, value: /tmp}
      {{- range $name, $value := $root.Values.env }}
      - {name: {{ $name }}, value: {{ $value | quote }}}
      {{- end }}
    {{- with .ports }}
    ports:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities:
        drop: [ALL]
    {{- with .resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    volumeMounts:
      - {name: loadtests, mountPath: /loadtests, readOnly: true}
      - {name: tmp, mountPath: /tmp}
volumes:
  - name: loadtests
    configMap:
      name: {{ printf "%s-locust-loadtests" $root.Release.Name | trunc 63 | trimSuffix "-" }}
      items:
        {{- range $path, $_ := $root.Files.Glob "files/loadtests/**.py" }}
        {{- $rel := trimPrefix "files/loadtests/" $path }}
        - {key: {{ $rel | replace "/" "__" }}, path: {{ $rel }}}
        {{- end }}
  - name: tmp
    emptyDir: {}
{{- end -}}
