{{/* Names and labels. */}}
{{- define "gatehouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gatehouse.fullname" -}}
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

{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "gatehouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gatehouse
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "gatehouse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gatehouse.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "gatehouse.image" -}}
{{- $repository := include "gatehouse.imageRepository" (dict "repository" .Values.image.repository "registry" (dig "imageRegistry" "" (.Values.global | default dict))) -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
An image repository with `global.imageRegistry` in place of its registry. The first path
component is a registry when it holds a "." or a ":" or is "localhost", the rule container
runtimes use (distribution/reference ParseNormalizedNamed); a name without one is on Docker Hub,
whose mirrors keep its `library/` path for official images.
Input: dict "repository" "registry".
*/}}
{{- define "gatehouse.imageRepository" -}}
{{- $repository := .repository -}}
{{- $registry := trimSuffix "/" (toString .registry) -}}
{{- if $registry -}}
{{- /* Helm leaves `global` out of the schema validation, so it is checked here. */ -}}
{{- if not (regexMatch "^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]+)?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$" $registry) -}}
{{- fail (printf "global.imageRegistry %q must be a registry host, optionally with :port and /path (registry.example.com:5000/mirror), without a scheme" $registry) -}}
{{- end -}}
{{- $parts := splitList "/" $repository -}}
{{- $first := first $parts -}}
{{- if and (gt (len $parts) 1) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) -}}
{{- $repository = join "/" (rest $parts) -}}
{{- else if eq (len $parts) 1 -}}
{{- $repository = printf "library/%s" $repository -}}
{{- end -}}
{{- printf "%s/%s" $registry $repository -}}
{{- else -}}
{{- $repository -}}
{{- end -}}
{{- end -}}

{{/* `imagePullSecrets:` of every pod: global.imagePullSecrets, then imagePullSecrets. */}}
{{- define "gatehouse.imagePullSecrets" -}}
{{- $secrets := concat (dig "imagePullSecrets" list (.Values.global | default dict)) (.Values.imagePullSecrets | default list) | uniq -}}
{{- with $secrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A Kubernetes memory quantity in whole MiB (rounded down), or nothing when it is not one of the
plain forms (`384Mi`, `1Gi`, `512M`, `402653184`).
*/}}
{{- define "gatehouse.memoryMiB" -}}
{{- $text := toString . -}}
{{- if kindIs "float64" . }}{{ $text = printf "%.0f" . }}{{ end -}}
{{- if regexMatch "^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$" $text -}}
{{- $number := regexFind "^[0-9]+" $text | int64 -}}
{{- $unit := trimPrefix (regexFind "^[0-9]+" $text) $text -}}
{{- $bytes := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 -}}
{{- div (mul $number (get $bytes $unit)) 1048576 -}}
{{- end -}}
{{- end -}}

{{/*
V8's old-space limit in MiB for NODE_OPTIONS (values `heap`), or nothing: `heap.maxOldSpaceMiB`,
else `heap.percentOfMemoryLimit` of `resources.limits.memory`, else nothing (no memory limit).
It must stay below the limit, or the kernel OOM-kills the container before V8 ever collects.
*/}}
{{- define "gatehouse.maxOldSpaceMiB" -}}
{{- $heap := .Values.heap -}}
{{- $limit := dig "limits" "memory" "" (.Values.resources | default dict) -}}
{{- $limitMiB := 0 -}}
{{- if $limit -}}
{{- $parsed := include "gatehouse.memoryMiB" $limit -}}
{{- if not $parsed -}}
{{- fail (printf "resources.limits.memory %q is not a quantity the chart reads (e.g. 384Mi, 1Gi, 512M or bytes): write it so, or set heap.maxOldSpaceMiB" (toString $limit)) -}}
{{- end -}}
{{- $limitMiB = atoi $parsed -}}
{{- end -}}
{{- $mib := int $heap.maxOldSpaceMiB -}}
{{- if and (eq $mib 0) (gt $limitMiB 0) -}}
{{- $mib = div (mul $limitMiB (int $heap.percentOfMemoryLimit)) 100 -}}
{{- end -}}
{{- if and (gt $mib 0) (gt $limitMiB 0) (ge $mib $limitMiB) -}}
{{- fail (printf "heap.maxOldSpaceMiB (%d) must be below resources.limits.memory (%d MiB): V8's young generation, code and Buffers live outside the old space, so the container would be OOM-killed before V8 collects" $mib $limitMiB) -}}
{{- end -}}
{{- if gt $mib 0 }}{{ $mib }}{{ end -}}
{{- end -}}

{{/*
Names of the identity headers gatehouse sends upstream with the configured profile
(config.identityHeaders.profile), comma-separated, for the proxies' allow-lists in NOTES.txt.
The built-in profiles' names are those of src/identity/header-profiles.ts (builtInProfiles) and
src/identity/reserved-header-names.ts; test/integration/chart/chart-api-server.test.ts (NOTES.txt)
compares them.
*/}}
{{- define "gatehouse.identityHeaderNames" -}}
{{- $config := .Values.config | default dict -}}
{{- $identityHeaders := $config.identityHeaders | default dict -}}
{{- $profile := $identityHeaders.profile | default "x-auth-request" -}}
{{- $builtIn := dict
  "x-auth-request" (list "X-Auth-Request-User" "X-Auth-Request-Email" "X-Auth-Request-Groups" "X-Auth-Request-Preferred-Username" "X-Auth-Request-Roles")
  "remote" (list "Remote-User" "Remote-Email" "Remote-Groups" "Remote-Name" "Remote-Roles")
  "sec" (list "sec-proxy" "sec-username" "sec-email" "sec-firstname" "sec-lastname" "sec-org" "sec-orgname" "sec-roles") -}}
{{- $impersonator := dict "x-auth-request" "X-Auth-Request-Impersonator" "remote" "Remote-Impersonator" "sec" "sec-impersonator" -}}
{{- $names := list -}}
{{- if eq $profile "custom" -}}
{{- $names = keys ($identityHeaders.custom | default dict) | sortAlpha -}}
{{- else -}}
{{- $names = get $builtIn $profile -}}
{{- end -}}
{{- if dig "impersonation" "enabled" false $config -}}
{{- $names = append $names (get $impersonator $profile | default "X-Auth-Request-Impersonator") -}}
{{- end -}}
{{- if dig "assertion" "enabled" false $identityHeaders -}}
{{- $names = append $names "X-Gatehouse-Assertion" -}}
{{- end -}}
{{- join "," $names -}}
{{- end -}}

{{/*
PromQL label matchers selecting gatehouse's series: metrics.prometheusRule.selector, else the
labels the ServiceMonitor gives them (the Prometheus Operator sets `job` to the Service name and
`namespace` to its namespace).
*/}}
{{- define "gatehouse.metricsSelector" -}}
{{- default (printf "job=%q,namespace=%q" (include "gatehouse.fullname" .) .Release.Namespace) .Values.metrics.prometheusRule.selector -}}
{{- end -}}

{{- define "gatehouse.redisFullname" -}}
{{- printf "%s-redis" (include "gatehouse.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* A different name label: the gatehouse Deployment's selector must never match these pods. */}}
{{- define "gatehouse.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}-redis
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gatehouse.secretsRoot" -}}/var/run/secrets/gatehouse{{- end -}}

{{/*
Whole seconds of a gatehouse duration (`500ms`, `30s`, `10m`, `8h`, `7d`, `1h30m`, or a number of
seconds), rounded up, for the terminationGracePeriodSeconds check.
*/}}
{{- define "gatehouse.durationSeconds" -}}
{{- $value := toString . -}}
{{- if regexMatch "^[0-9]+$" $value -}}
{{- $value -}}
{{- else -}}
{{- $ms := 0 -}}
{{- $units := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 -}}
{{- range regexFindAll "[0-9]+(ms|s|m|h|d)" $value -1 -}}
{{- $unit := regexFind "(ms|s|m|h|d)$" . -}}
{{- $number := regexFind "^[0-9]+" . | atoi -}}
{{- $ms = add $ms (mul $number (get $units $unit)) -}}
{{- end -}}
{{- div (add $ms 999) 1000 -}}
{{- end -}}
{{- end -}}

{{/* The Redis connection (sessions.redis) built from `.Values.redis`. */}}
{{- define "gatehouse.redisConfig" -}}
{{- $redis := .Values.redis -}}
{{- $out := dict "mode" $redis.mode "keyPrefix" $redis.keyPrefix "tls" $redis.tls -}}
{{- if $redis.username }}{{ $_ := set $out "username" $redis.username }}{{ end -}}
{{- if eq $redis.mode "standalone" -}}
{{- if $redis.embedded.enabled -}}
{{- $_ := set $out "url" (printf "redis://%s:6379" (include "gatehouse.redisFullname" .)) -}}
{{- else if $redis.url -}}
{{- $_ := set $out "url" $redis.url -}}
{{- else -}}
{{- fail "redis.url is required with redis.mode=standalone (or set redis.embedded.enabled=true for an evaluation)" -}}
{{- end -}}
{{- else if eq $redis.mode "sentinel" -}}
{{- if not $redis.sentinels }}{{ fail "redis.sentinels is required with redis.mode=sentinel" }}{{ end -}}
{{- $_ := set $out "sentinels" $redis.sentinels -}}
{{- $_ := set $out "sentinelName" $redis.sentinelName -}}
{{- if $redis.sentinelUsername }}{{ $_ := set $out "sentinelUsername" $redis.sentinelUsername }}{{ end -}}
{{- else if eq $redis.mode "cluster" -}}
{{- if not $redis.clusterNodes }}{{ fail "redis.clusterNodes is required with redis.mode=cluster" }}{{ end -}}
{{- $_ := set $out "clusterNodes" $redis.clusterNodes -}}
{{- end -}}
{{- if and $redis.embedded.enabled (ne $redis.mode "standalone") -}}
{{- fail "redis.embedded.enabled needs redis.mode=standalone" -}}
{{- end -}}
{{- if $redis.auth.existingSecret -}}
{{- $_ := set $out "passwordFile" (printf "%s/redis/password" (include "gatehouse.secretsRoot" .)) -}}
{{- end -}}
{{- if include "gatehouse.redisSentinelSecret" . -}}
{{- $_ := set $out "sentinelPasswordFile" (printf "%s/redis-sentinel/password" (include "gatehouse.secretsRoot" .)) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
The Secret holding the Sentinels' own password (`redis.sentinelAuth`), empty when they need none:
`sentinelAuth.existingSecret`, or the Redis password's Secret (`auth.existingSecret`), which is
what Bitnami's Sentinels use. Mounted as `<secretsRoot>/redis-sentinel/password`.
*/}}
{{- define "gatehouse.redisSentinelSecret" -}}
{{- $redis := .Values.redis -}}
{{- if $redis.sentinelAuth.enabled -}}
{{- if ne $redis.mode "sentinel" -}}
{{- fail "redis.sentinelAuth.enabled needs redis.mode=sentinel" -}}
{{- end -}}
{{- $secret := default $redis.auth.existingSecret $redis.sentinelAuth.existingSecret -}}
{{- if not $secret -}}
{{- fail "redis.sentinelAuth.enabled needs redis.sentinelAuth.existingSecret (or redis.auth.existingSecret, when the Sentinels use the Redis password)" -}}
{{- end -}}
{{- $secret -}}
{{- end -}}
{{- end -}}

{{/* The key of the Sentinels' password in that Secret: `sentinelAuth.passwordKey`, else `auth.passwordKey`. */}}
{{- define "gatehouse.redisSentinelPasswordKey" -}}
{{- default .Values.redis.auth.passwordKey .Values.redis.sentinelAuth.passwordKey -}}
{{- end -}}

{{/*
The gatehouse configuration file: `.Values.config` (already merged over the chart's defaults by
Helm) plus what the chart owns: listeners (the container ports), the Redis connection and the
secret file paths. Secrets themselves never appear here, only the paths of their mounted files.
*/}}
{{- define "gatehouse.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $_ := set $config "listeners" (dict "main" (dict "host" "0.0.0.0" "port" 8080) "operations" (dict "host" "0.0.0.0" "port" 9090)) -}}
{{- $sessions := default (dict) $config.sessions -}}
{{- if eq (default "memory" $sessions.store) "redis" -}}
{{- $_ := set $sessions "redis" (include "gatehouse.redisConfig" . | fromYaml) -}}
{{- end -}}
{{- $_ := set $config "sessions" $sessions -}}
{{- $root := include "gatehouse.secretsRoot" . -}}
{{- $providers := list -}}
{{- range $provider := default (list) $config.providers -}}
{{- $copy := deepCopy $provider -}}
{{- if hasKey $.Values.secrets.oidcClientSecrets $provider.name -}}
{{- $_ := set $copy "clientSecretFile" (printf "%s/oidc/%s/client-secret" $root $provider.name) -}}
{{- end -}}
{{- $providers = append $providers $copy -}}
{{- end -}}
{{- range $name, $_ := .Values.secrets.oidcClientSecrets -}}
{{- $known := false -}}
{{- range $provider := default (list) $config.providers -}}
{{- if eq $provider.name $name }}{{ $known = true }}{{ end -}}
{{- end -}}
{{- if not $known }}{{ fail (printf "secrets.oidcClientSecrets.%s names no provider in config.providers" $name) }}{{ end -}}
{{- end -}}
{{- $_ := set $config "providers" $providers -}}
{{- $identityHeaders := default (dict) $config.identityHeaders -}}
{{- $assertion := default (dict) $identityHeaders.assertion -}}
{{- if .Values.secrets.assertionSigningKey.existingSecret -}}
{{- $_ := set $assertion "signingKeyFile" (printf "%s/assertion/current/key.pem" $root) -}}
{{- end -}}
{{- if .Values.secrets.assertionPreviousKeys -}}
{{- $previous := list -}}
{{- range $index, $_ := .Values.secrets.assertionPreviousKeys -}}
{{- $previous = append $previous (printf "%s/assertion/previous-%d/key.pem" $root $index) -}}
{{- end -}}
{{- $_ := set $assertion "previousKeyFiles" $previous -}}
{{- end -}}
{{- $_ := set $identityHeaders "assertion" $assertion -}}
{{- $_ := set $config "identityHeaders" $identityHeaders -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
`for` and `labels` of one alert of prometheusrule.yaml: its metrics.prometheusRule.alerts entry
(for, severity) and metrics.prometheusRule.alertLabels. Input: dict "name" "alerts" "alertLabels".
*/}}
{{- define "gatehouse.alertMeta" -}}
{{- $alert := index .alerts .name -}}

for: {{ $alert.for }}
labels:
  {{- toYaml (merge (dict "severity" $alert.severity) (deepCopy .alertLabels)) | nindent 2 }}
{{- end -}}
