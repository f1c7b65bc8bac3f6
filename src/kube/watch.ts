/**
 * client-node watch plumbing the Secret source supervises: a Watch that asks for bookmarks and a
 * server-side timeout (so a healthy idle watch reconnects and silence means a dead connection), and a
 * KubeConfig whose HTTP agents can be destroyed, which is the only way to kill a connect that never
 * got response headers.
 */
import type { Agent } from "node:http";
import { type KubeConfig, Watch } from "@kubernetes/client-node";

/** A Watch that asks for bookmarks and a server-side timeout, and reports every line it receives. */
export class BookmarkingWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly timeoutSeconds: number,
    private readonly onLine: () => void,
  ) {
    super(config);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    const params = { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.timeoutSeconds };
    return super.watch(
      path,
      params,
      (phase, obj, raw) => {
        this.onLine();
        callback(phase, obj, raw);
      },
      done,
    );
  }
}

/** The same KubeConfig, except that every HTTP agent it hands out is remembered (to destroy later). */
export function agentTrackingConfig(kc: KubeConfig, agents: Set<Agent>): KubeConfig {
  const tracking = Object.create(kc) as KubeConfig;
  tracking.applyToFetchOptions = async (opts) => {
    const init = await kc.applyToFetchOptions(opts);
    if (init.agent && typeof init.agent === "object") agents.add(init.agent as Agent);
    return init;
  };
  return tracking;
}
