{{/*
Expand the name of the chart.
*/}}
{{- define "ordergate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
We truncate at 63 chars because some Kubernetes name fields are limited to this (by the DNS naming spec).
If release name contains chart name it will be used as a full name.
*/}}
{{- define "ordergate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "ordergate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels every pod of the release carries, the server's and the migration Job's alike.
*/}}
{{- define "ordergate.instanceLabels" -}}
app.kubernetes.io/name: {{ include "ordergate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Common labels
*/}}
{{- define "ordergate.labels" -}}
helm.sh/chart: {{ include "ordergate.chart" . }}
{{ include "ordergate.instanceLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels of the server pods. The component keeps the migration Job's pod out of the
Service, whose endpoints would otherwise include it.
*/}}
{{- define "ordergate.selectorLabels" -}}
{{ include "ordergate.instanceLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/*
Create the name of the service account to use
*/}}
{{- define "ordergate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ordergate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: the digest pins it when given, else the tag (default: appVersion).
*/}}
{{- define "ordergate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The Secret the pods read credentials from: the operator's existingSecret or the chart's own.
*/}}
{{- define "ordergate.secretName" -}}
{{- default (include "ordergate.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
The environment both the server and the migration Job need.
*/}}
{{- define "ordergate.baseEnv" -}}
- name: ORDERGATE_ENV
  value: production
- name: ORDERGATE_LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
{{- end }}

{{/*
Environment variables read from the credentials Secret; only DATABASE_URL must be in it for the
pod to be created. ordergate itself refuses to start without ORDERGATE_SECRET_KEY, and without
SMTP_URL when the policy e-mails customers, with a message naming the variable.
*/}}
{{- define "ordergate.secretEnv" -}}
{{- $secret := include "ordergate.secretName" . }}
{{- range $name := list "DATABASE_URL" "REDIS_URL" "SHOPIFY_ADMIN_TOKEN" "SHOPIFY_CLIENT_ID" "SHOPIFY_CLIENT_SECRET" "SHOPIFY_WEBHOOK_SECRET" "ORDERGATE_SECRET_KEY" "SMTP_URL" }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $name }}
      {{- if ne $name "DATABASE_URL" }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
