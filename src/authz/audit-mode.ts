import type { Decision } from './decision.ts';

/**
 * Whether the service answers this decision as allowed only because the deciding policy is in
 * Audit mode (docs/audit-mode.md): the refusal is counted and logged as it would have been, and
 * the request passes. Only a matched rule carries a mode, so refusals no policy decides (forged
 * headers, bad credentials, ambiguous paths) stay enforced: they are about the request, not
 * about a policy being rolled out. The check endpoint and `gatehouse check`/`test` share it.
 */
export function isAuditOverride(decision: Decision): boolean {
  return decision.outcome !== 'allow' && decision.rule?.mode === 'Audit';
}
