{{- define "test-zk.labels" -}}
app.kubernetes.io/name: test-zk
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
{{- define "test-zk.headless" -}}
{{ .Release.Name }}-headless
{{- end }}
