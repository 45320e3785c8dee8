/**
 * The two calls a watch needs, list (paged) and watch (a stream of events), over client-node,
 * behind an interface so resilient-watch.ts can be tested without an API server. Objects stay
 * plain JSON (no client-node model classes): they are validated as policy documents.
 */
import { ApiException, CustomObjectsApi, Watch } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { isRecord } from '../../../is-record.ts';

/** A list/watch endpoint: `/apis/<group>/<version>[/namespaces/<ns>]/<plural>`. */
export interface ResourceRef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  /** Only this namespace; omitted: all namespaces (or a cluster-scoped kind). */
  readonly namespace?: string;
}

export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  /** "" on the last page. */
  readonly continue: string;
}

export interface WatchEvent {
  /** ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (https://kubernetes.io/docs/reference/using-api/api-concepts/#watch-bookmarks). */
  readonly type: string;
  readonly object: unknown;
}

export interface WatchHandle {
  /** Closes the stream; onClose is not called afterwards. */
  abort(): void;
}

export interface WatchTransport {
  list(
    resource: ResourceRef,
    page: { readonly limit: number; readonly continue: string },
  ): Promise<ListPage>;
  watch(
    resource: ResourceRef,
    query: { readonly resourceVersion: string; readonly timeoutSeconds: number },
    onEvent: (event: WatchEvent) => void,
    /** The stream ended: null when the server closed it normally, else the error. */
    onClose: (error: unknown) => void,
  ): WatchHandle;
}

/** An HTTP status carried by an API error, or undefined. */
export function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  if (typeof error === 'object' && error !== null) {
    const status = (error as { statusCode?: unknown; code?: unknown }).statusCode;
    if (typeof status === 'number') return status;
  }
  return undefined;
}

export function resourcePath(resource: ResourceRef): string {
  const namespace =
    resource.namespace === undefined ? '' : `/namespaces/${encodeURIComponent(resource.namespace)}`;
  return `/apis/${resource.group}/${resource.version}${namespace}/${resource.plural}`;
}

export class KubeWatchTransport implements WatchTransport {
  readonly #customObjects: CustomObjectsApi;
  readonly #watch: Watch;

  constructor(kubeConfig: KubeConfig) {
    // CustomObjectsApi lists any non-core group's resources as plain JSON, Ingresses included.
    this.#customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
    this.#watch = new Watch(kubeConfig);
  }

  async list(
    resource: ResourceRef,
    page: { readonly limit: number; readonly continue: string },
  ): Promise<ListPage> {
    const common = {
      group: resource.group,
      version: resource.version,
      plural: resource.plural,
      limit: page.limit,
      ...(page.continue === '' ? {} : { _continue: page.continue }),
    };
    const body: unknown =
      resource.namespace === undefined
        ? await this.#customObjects.listClusterCustomObject(common)
        : await this.#customObjects.listNamespacedCustomObject({
            ...common,
            namespace: resource.namespace,
          });
    if (!isRecord(body) || !Array.isArray(body.items)) {
      throw new Error(`unexpected list response from ${resourcePath(resource)}`);
    }
    const metadata = isRecord(body.metadata) ? body.metadata : {};
    return {
      items: body.items as unknown[],
      resourceVersion: typeof metadata.resourceVersion === 'string' ? metadata.resourceVersion : '',
      continue: typeof metadata.continue === 'string' ? metadata.continue : '',
    };
  }

  watch(
    resource: ResourceRef,
    query: { readonly resourceVersion: string; readonly timeoutSeconds: number },
    onEvent: (event: WatchEvent) => void,
    onClose: (error: unknown) => void,
  ): WatchHandle {
    let aborted = false;
    let controller: AbortController | null = null;
    // Watch.watch resolves only once the response headers arrived; an abort before that is
    // applied when it does, so a hung connect cannot leak.
    this.#watch
      .watch(
        resourcePath(resource),
        {
          resourceVersion: query.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: query.timeoutSeconds,
        },
        (type: string, object: unknown) => {
          if (!aborted) onEvent({ type, object });
        },
        (error: unknown) => {
          if (!aborted) onClose(error ?? null);
        },
      )
      .then(
        (created) => {
          controller = created;
          if (aborted) created.abort();
        },
        (error: unknown) => {
          if (!aborted) onClose(error);
        },
      );
    return {
      abort: () => {
        aborted = true;
        controller?.abort();
      },
    };
  }
}
