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

export function policyReferenceExamples(): { title: string; yaml: string }[] {
  return exampleFiles.map(([title, file]) => ({
    title,
    yaml: readFileSync(new URL(`../../examples/policies/${file}`, import.meta.url), 'utf8'),
  }));
}
