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
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
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
