/**
 * What each reason code means, in two voices, as exhaustive records beside the codes
 * (reasons.ts): a code added there without its explanations does not compile.
 */
import { Reasons, type Reason } from './reasons.ts';

/** For operators: `gatehouse check` and `gatehouse test` output. */
export const operatorExplanations: Readonly<Record<Reason, string>> = {
  [Reasons.RoleGranted]: 'the identity holds one of the roles the rule requires',
  [Reasons.SuperRole]:
    'the identity holds the configured super role, which satisfies every allow rule',
  [Reasons.DefaultAllow]: 'no rule matches and authz.noMatch lets the request through',
  [Reasons.AuthenticatedOnly]:
    'oauth2-proxy endpoint without host=: the credential and the auth URL allowed_* lists were judged, no policy (as oauth2-proxy does)',
  [Reasons.NotInAllowedList]:
    "the identity does not meet the auth URL's allowed_groups, allowed_emails or allowed_email_domains (oauth2-proxy endpoint)",
  [Reasons.AuthenticationRequired]:
    'the rule needs more than guest and no identity was presented: sign in',
  [Reasons.InvalidCredentials]: 'the credential presented is invalid, expired or revoked',
  [Reasons.NoMatchingRule]: 'no rule of any policy matches this host, path and method',
  [Reasons.ProviderNotAllowed]:
    "the session comes from a provider the policy's authentication.providers does not allow: sign in with an allowed one",
  [Reasons.DenyRule]: 'the matched rule has action: Deny, which refuses everyone',
  [Reasons.MissingRole]: 'the identity holds none of the roles the rule requires',
  [Reasons.StepUpRequired]:
    "the identity holds a required role, but its sign-in is older than the rule's authentication.maxAge or lacks its acr/amr: sign in again (step-up)",
  [Reasons.AmbiguousPath]:
    'the path means different things to different decoders, so it is refused',
  [Reasons.AmbiguousQuery]:
    'a rule tests a query parameter that this request gives in a way upstreams read differently (repeated, in another case, after a ";", badly escaped), so it is refused',
  [Reasons.CorsPreflight]:
    'a CORS preflight on a host whose policy sets preflight: Allow passes anonymously; the upstream answers it',
  [Reasons.ForgedIdentityHeader]: 'the client sent its own copy of an identity header',
  [Reasons.MalformedRequest]: 'the request could not be understood',
};

/**
 * For the person who got the 403, in words that name no policy, rule or role: the page is shown
 * to anyone, so it explains the kind of refusal and leaves the details to the audit log, which
 * the request id finds (docs/architecture.md, "Decision semantics").
 */
export const visitorExplanations: Readonly<Record<Reason, string>> = {
  [Reasons.RoleGranted]: 'Access was granted.',
  [Reasons.SuperRole]: 'Access was granted.',
  [Reasons.DefaultAllow]: 'Access was granted.',
  [Reasons.AuthenticatedOnly]: 'Access was granted.',
  [Reasons.NotInAllowedList]:
    'Your account is not among the groups or addresses this application admits.',
  [Reasons.AuthenticationRequired]: 'This page needs you to sign in first.',
  [Reasons.InvalidCredentials]:
    'Your sign-in or access token was not accepted; it may have expired or been revoked.',
  [Reasons.NoMatchingRule]: 'No access has been set up for this address.',
  [Reasons.ProviderNotAllowed]:
    'This address is only for people who sign in with the account of another organisation than the one you are signed in with.',
  [Reasons.DenyRule]: 'This address is closed to everyone.',
  [Reasons.MissingRole]: 'Your account does not hold a role that this page requires.',
  [Reasons.StepUpRequired]:
    'This page needs a recent sign-in, or a stronger one (for example with a security key). Please sign in again.',
  [Reasons.AmbiguousPath]:
    'The address contains characters that can be read in more than one way (such as an encoded slash or dot-segment), so it is refused rather than guessed.',
  [Reasons.AmbiguousQuery]:
    'The address repeats a query parameter, or spells it in a way that can be read more than once, so it is refused rather than guessed.',
  [Reasons.CorsPreflight]: 'Access was granted.',
  [Reasons.ForgedIdentityHeader]:
    'The request carried an identity header that only the sign-in service may set.',
  [Reasons.MalformedRequest]: 'The request could not be understood.',
};
