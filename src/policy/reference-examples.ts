import { readFileSync } from 'node:fs';

/** The example manifests shown in the policy reference: the ones `make run` serves. */
const exampleFiles = [
  ['A web application: public assets, an admin area, a closed endpoint', 'app.yaml'],
  [
    'An API for bearer-token clients: by method, pattern, query parameter, header and client address; CORS preflights',
    'api.yaml',
  ],
  ['A cluster-wide fallback for every other host', 'fallback.yaml'],
  ['Roles from users, groups, e-mail domains and claims', 'role-mappings.yaml'],
] as const;

/**
 * Examples shown in the reference only (not served by `make run`); each is a valid manifest,
 * checked by reference-examples.test.ts.
 */
const inlineExamples = [
  {
    title: 'Step-up sign-in: a recent or a stronger sign-in for sensitive pages (issue #19)',
    yaml: `# Signed-in staff reach the wiki; billing needs a sign-in of the last 15 minutes, and the
# key vault a sign-in with a security key (amr "hwk", RFC 8176) at the provider's "gold" level.
# A session that falls short gets 401 step-up-required: the sign-in asks the provider for
# max_age / acr_values and prompt=login, and the user comes back. Try it:
#   gatehouse check --policies DIR --user alice --signed-in-ago 20m GET https://intranet.example.com/billing
apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: intranet
  namespace: intranet
spec:
  hosts: [intranet.example.com]
  rules:
    - name: billing
      match: [{ path: { type: PathPrefix, value: /billing } }]
      roles: [authenticated]
      authentication:
        maxAge: 15m
    - name: key-vault
      match: [{ path: { type: PathPrefix, value: /vault } }]
      roles: [vault-users]
      authentication:
        acr: [gold]
        amr: [hwk]
    - name: wiki
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [authenticated]
`,
  },
] as const;

export function policyReferenceExamples(): { title: string; yaml: string }[] {
  return [
    ...exampleFiles.map(([title, file]) => ({
      title,
      yaml: readFileSync(new URL(`../../examples/policies/${file}`, import.meta.url), 'utf8'),
    })),
    ...inlineExamples.map(({ title, yaml }) => ({ title, yaml })),
  ];
}
