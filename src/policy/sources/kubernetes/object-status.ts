/**
 * What gatehouse reports on each policy object's `status` (pure): `observedGeneration`, one
 * `Ready` condition in the metav1.Condition shape
 * (https://github.com/kubernetes/enhancements/tree/master/keps/sig-api-machinery/1623-standardize-conditions),
 * `ruleCount` / `subjectCount` for the CRD printer columns and the `mode` of access policies.
 *
 * Reasons: `Accepted` (in the snapshot), `Invalid` (refused by validation: the object is left out
 * while the rest keeps working), `HostNotOwned` (tenancy: some or all of an AccessPolicy's hosts
 * are not declared in its namespace; the owned hosts still apply), `HostOwnedByAnotherNamespace`
 * (another namespace's route declared the host first: it owns it), `OutsideDelegatedPath` (a
 * HostDelegation admits the namespace only below a path prefix its rules leave).
 */
import { isRecord } from '../../../is-record.ts';
import { definedFields } from '../../../defined-fields.ts';

export const readyReasons = [
  'Accepted',
  'Invalid',
  'HostNotOwned',
  'HostOwnedByAnotherNamespace',
  'OutsideDelegatedPath',
] as const;
export type ReadyReason = (typeof readyReasons)[number];

/** gatehouse's judgement of one object, before it is written anywhere. */
export interface ObjectVerdict {
  readonly kind: string;
  readonly plural: string;
  /** "" for cluster-scoped kinds. */
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly generation: number;
  readonly resourceVersion: string;
  readonly ready: boolean;
  readonly reason: ReadyReason;
  /** What to do about it (which field, which rule, which host), or what was accepted. */
  readonly message: string;
  readonly ruleCount?: number;
  readonly subjectCount?: number;
  readonly mode?: string;
  /** AccessPolicy: `host=namespace` for each of its hosts that a namespace owns (printer column). */
  readonly hostOwners?: readonly string[];
  /** The `status` the object carries now (from the watch). */
  readonly observedStatus: unknown;
}

export interface ReadyCondition {
  readonly type: 'Ready';
  readonly status: 'True' | 'False';
  readonly reason: ReadyReason;
  readonly message: string;
  readonly observedGeneration: number;
  readonly lastTransitionTime: string;
}

export interface ObjectStatus {
  readonly observedGeneration: number;
  readonly conditions: readonly ReadyCondition[];
  readonly ruleCount?: number;
  readonly subjectCount?: number;
  readonly mode?: string;
  readonly hostOwners?: readonly string[];
}

/** metav1.Condition messages are bounded (32768); a page of problems is plenty. */
const maxMessageLength = 4_000;

export function truncateMessage(message: string, max = maxMessageLength): string {
  return message.length <= max ? message : `${message.slice(0, max - 3)}...`;
}

function observedReady(status: unknown): Record<string, unknown> | undefined {
  if (!isRecord(status) || !Array.isArray(status.conditions)) return undefined;
  return (status.conditions as unknown[]).filter(isRecord).find((c) => c.type === 'Ready');
}

/** RFC 3339 with whole seconds, like metav1.Time. */
function rfc3339(millis: number): string {
  return new Date(Math.floor(millis / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * The status to write. `lastTransitionTime` is carried over while the condition's status stays
 * the same, and set to `now` when it flips, so rewriting an unchanged verdict changes nothing.
 */
export function desiredStatus(verdict: ObjectVerdict, now: number): ObjectStatus {
  const status = verdict.ready ? 'True' : 'False';
  const previous = observedReady(verdict.observedStatus);
  const lastTransitionTime =
    previous?.status === status && typeof previous.lastTransitionTime === 'string'
      ? previous.lastTransitionTime
      : rfc3339(now);
  return {
    observedGeneration: verdict.generation,
    conditions: [
      {
        type: 'Ready',
        status,
        reason: verdict.reason,
        message: truncateMessage(verdict.message),
        observedGeneration: verdict.generation,
        lastTransitionTime,
      },
    ],
    ...definedFields({
      ruleCount: verdict.ruleCount,
      subjectCount: verdict.subjectCount,
      mode: verdict.mode,
    }),
    ...(verdict.hostOwners === undefined || verdict.hostOwners.length === 0
      ? {}
      : { hostOwners: verdict.hostOwners }),
  };
}

/** JSON with sorted keys, so two equal values compare equal whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  const text = JSON.stringify(value) as string | undefined;
  return text ?? 'null';
}

/**
 * Whether writing `desired` would change the object: only the fields gatehouse owns are
 * compared, so anything else on the status is left alone and an unchanged verdict is no write.
 */
export function statusNeedsWrite(observed: unknown, desired: ObjectStatus): boolean {
  const current = isRecord(observed) ? observed : {};
  const mine = Object.fromEntries(Object.keys(desired).map((key) => [key, current[key]] as const));
  for (const key of ['ruleCount', 'subjectCount', 'mode', 'hostOwners'] as const) {
    if (!(key in desired) && current[key] !== undefined) mine[key] = current[key];
  }
  return canonical(mine) !== canonical(desired);
}

/**
 * The merge patch (RFC 7396) for the `/status` subresource. Fields gatehouse no longer reports
 * are removed with `null`; `conditions` is replaced as a whole (merge patches replace lists),
 * which is right because gatehouse is the only writer of this status.
 */
export function statusPatch(observed: unknown, desired: ObjectStatus): Record<string, unknown> {
  const current = isRecord(observed) ? observed : {};
  const status: Record<string, unknown> = { ...desired };
  for (const key of ['ruleCount', 'subjectCount', 'mode', 'hostOwners'] as const) {
    if (!(key in desired) && current[key] !== undefined) status[key] = null;
  }
  return { status };
}
