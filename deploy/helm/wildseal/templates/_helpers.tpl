{{/* Chart name. */}}
{{- define "wildseal.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or <release> when it already contains the chart name. */}}
{{- define "wildseal.fullname" -}}
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

{{- define "wildseal.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "wildseal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wildseal.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "wildseal.labels" -}}
helm.sh/chart: {{ include "wildseal.chart" . }}
{{ include "wildseal.selectorLabels" . }}
app.kubernetes.io/version: {{ include "wildseal.imageTag" . | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: wildseal
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "wildseal.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wildseal.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "wildseal.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "wildseal.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "wildseal.imageTag" .) }}
{{- end }}
{{- end }}

{{/* The Lease wildseal takes with --leader-elect (src/pipeline/watch.ts: name "wildseal", in the source namespace). */}}
{{- define "wildseal.leaseName" -}}wildseal{{- end }}

{{/* The namespace of the first source Secret (certificates[0], else source): where --leader-elect takes its Lease. */}}
{{- define "wildseal.sourceNamespace" -}}
{{- if .Values.certificates }}{{ (index .Values.certificates 0).source.namespace }}{{ else }}{{ .Values.source.namespace }}{{ end }}
{{- end }}

{{/* The resource name RBAC sees for services/http:<name>:<port>/proxy/… (src/sources/sealing-cert-fetch.ts certProxyPath). */}}
{{- define "wildseal.proxyResourceName" -}}
{{- printf "http:%s:%s" .Values.controllerCert.name .Values.controllerCert.portName }}
{{- end }}

{{/* wildseal watch's defaults for the escalation flags (src/cli/escalation-flags.ts); the chart passes a flag only when its value differs. test/deploy/chart-watch-flags.test.ts pins them to the CLI's. */}}
{{- define "wildseal.default.warnBefore" -}}21d{{- end }}
{{- define "wildseal.default.escalateAfter" -}}72h{{- end }}
{{- define "wildseal.default.escalationLabel" -}}wildseal-escalated{{- end }}

{{/* The ports --verify-rollout dials: each probe address's (443 when it names none), or 443 for hosts dialled by their DNS name; then networkPolicy.egress.probePorts. Deduplicated, as a JSON list. */}}
{{- define "wildseal.probePorts" -}}
{{- $ports := list }}
{{- range .Values.rolloutVerification.probeAddresses }}
{{- $addr := regexReplaceAll "^[^=]*=" . "" }}
{{- if regexMatch ":[0-9]+$" $addr }}
{{- $ports = append $ports (regexFind "[0-9]+$" $addr | int) }}
{{- else }}
{{- $ports = append $ports 443 }}
{{- end }}
{{- end }}
{{- if not .Values.rolloutVerification.probeAddresses }}
{{- $ports = append $ports 443 }}
{{- end }}
{{- range .Values.networkPolicy.egress.probePorts }}
{{- $ports = append $ports (int .) }}
{{- end }}
{{- $ports | uniq | toJson }}
{{- end }}

{{/*
The milliseconds of a duration whose form values.schema.json has checked (numbers with units d, h, m, s,
ms; or "0"). A number of more than 9 digits counts as 10^15 ms, beyond every bound below: atoi would
overflow to 0 and let it through. Leading zeros are dropped first: the CLI reads "08h" as 8 hours,
and they would count as digits.
*/}}
{{- define "wildseal.durationMs" -}}
{{- $unitMs := dict "d" 86400000 "h" 3600000 "m" 60000 "s" 1000 "ms" 1 }}
{{- $total := 0 }}
{{- range regexFindAll "[0-9]+[a-z]+" (toString .) -1 }}
{{- $n := regexReplaceAll "^0+" (regexFind "^[0-9]+" .) "" }}
{{- if gt (len $n) 9 }}
{{- $total = add $total 1000000000000000 }}
{{- else }}
{{- $total = add $total (mul (atoi $n) (get $unitMs (regexFind "[a-z]+$" .))) }}
{{- end }}
{{- end }}
{{- $total }}
{{- end }}

{{/* Fails unless .value (a duration, "" for unset) is at most .maxMs: the upper bounds of wildseal watch's duration flags (src/cli/watch.ts parseDuration: 24h; src/cli/escalation-flags.ts parseLongDuration: 366d), which the schema's patterns cannot say. */}}
{{- define "wildseal.checkMaxDuration" -}}
{{- if and (toString .value) (gt (include "wildseal.durationMs" .value | atoi) .maxMs) }}
{{- fail (printf "%s is %q: wildseal watch's %s takes at most %s; give e.g. %s or %s" .name (toString .value) .flag .max .example .max) }}
{{- end }}
{{- end }}

{{/* Fail early on inconsistent values (called from the Deployment). */}}
{{- define "wildseal.validate" -}}
{{- if .Values.certificates }}
{{- if or .Values.source.namespace .Values.source.name }}
{{- fail "source and certificates are both set: keep one (source is the one-certificate form)" }}
{{- end }}
{{- range $i, $c := .Values.certificates }}
{{- $_ := required (printf "certificates[%d].name is required (spec.certificates[].name in wildseal.yaml)" $i) $c.name }}
{{- $_ := required (printf "certificates[%d].source.namespace is required" $i) (($c.source | default dict).namespace) }}
{{- $_ := required (printf "certificates[%d].source.name is required" $i) (($c.source | default dict).name) }}
{{- end }}
{{- else }}
{{- $_ := required "source.namespace is required (the namespace of the cert-manager Secret)" .Values.source.namespace }}
{{- $_ := required "source.name is required (the name of the cert-manager Secret)" .Values.source.name }}
{{- end }}
{{- $_ := required "git.repo is required (the GitOps repository URL)" .Values.git.repo }}
{{- if not (has .Values.git.mode (list "push" "pull-request")) }}
{{- fail (printf "git.mode must be push or pull-request, got %q" .Values.git.mode) }}
{{- end }}
{{- if regexMatch "^[a-z][a-z0-9+.-]*://[^/@]*:[^/@]*@" .Values.git.repo }}
{{- fail "git.repo carries a password: put the token in a Secret and set git.credentials.existingSecret" }}
{{- end }}
{{- $app := .Values.git.githubApp }}
{{- if or $app.appId $app.installationId $app.existingSecret }}
{{- if not (and $app.appId $app.installationId $app.existingSecret) }}
{{- fail "git.githubApp needs appId, installationId and existingSecret together" }}
{{- end }}
{{- if ne .Values.git.mode "pull-request" }}
{{- fail "git.githubApp works in git.mode=pull-request only (the App's installation token is used for the pull request and its push)" }}
{{- end }}
{{- if .Values.git.credentials.existingSecret }}
{{- fail "set either git.credentials.existingSecret or git.githubApp, not both" }}
{{- end }}
{{- end }}
{{- if and (eq .Values.git.mode "pull-request") (not .Values.git.credentials.existingSecret) (not $app.existingSecret) }}
{{- fail "git.mode=pull-request needs GitHub credentials: git.credentials.existingSecret or git.githubApp" }}
{{- end }}
{{- if and .Values.rolloutVerification.probeAddresses (not .Values.rolloutVerification.enabled) }}
{{- fail "rolloutVerification.probeAddresses needs rolloutVerification.enabled=true (--probe-address without --verify-rollout probes nothing)" }}
{{- end }}
{{- if and .Values.git.pullRequest.autoMerge (not (has .Values.git.pullRequest.autoMerge (list "merge" "squash" "rebase"))) }}
{{- fail "git.pullRequest.autoMerge must be merge, squash or rebase" }}
{{- end }}
{{- $day := 86400000 }}
{{- range $c := list (list "interval" $.Values.interval "--interval" "1m") (list "resync" $.Values.resync "--resync" "10m") (list "debounce" $.Values.debounce "--debounce" "1s") (list "rolloutVerification.probeTimeout" $.Values.rolloutVerification.probeTimeout "--probe-timeout" "5s") (list "rolloutVerification.probeInterval" $.Values.rolloutVerification.probeInterval "--probe-interval" "1m") (list "rolloutVerification.deadline" $.Values.rolloutVerification.deadline "--rollout-deadline" "30m") }}
{{- include "wildseal.checkMaxDuration" (dict "name" (index $c 0) "value" (index $c 1) "flag" (index $c 2) "example" (index $c 3) "max" "24h" "maxMs" $day) }}
{{- end }}
{{- range $c := list (list "escalation.warnBefore" $.Values.escalation.warnBefore "--warn-before" "21d") (list "escalation.escalateAfter" $.Values.escalation.escalateAfter "--escalate-after" "72h") }}
{{- include "wildseal.checkMaxDuration" (dict "name" (index $c 0) "value" (index $c 1) "flag" (index $c 2) "example" (index $c 3) "max" "366d" "maxMs" (mul 366 $day)) }}
{{- end }}
{{- end }}
