/** For logs: the error's class, code and message, never a token. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const coded = error as Error & { code?: unknown; error?: unknown; status?: unknown };
  return {
    type: error.name,
    message: error.message,
    ...(typeof coded.code === 'string' ? { code: coded.code } : {}),
    ...(typeof coded.error === 'string' ? { error: coded.error } : {}),
    ...(typeof coded.status === 'number' ? { status: coded.status } : {}),
  };
}
