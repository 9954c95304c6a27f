/** What every route module receives from `buildServer`: the runtime and the server's shared parts. */
import type { ActionPolicy } from "../actions/action-policy.js";
import type { Runtime } from "../runtime/runtime.js";
import type { Logger } from "../shared/logger.js";
import type { EventHub } from "./event-hub.js";
import type { ApiMetrics } from "./metrics.js";
import type { RouteTable } from "./route.js";

export interface ApiContext {
  runtime: Runtime;
  routes: RouteTable;
  events: EventHub;
  metrics: ApiMetrics;
  logger: Logger;
  /** Tells the in-process worker, if any, that runs may have become ready (a start, retry or callback). */
  wake: () => void;
  publicUrl?: string;
  /** The actions definitions registered here may use. */
  actionPolicy: ActionPolicy;
  /** Live streams poll the store this often (default 200 ms) ... */
  streamPollMs: number;
  /** ... and send a comment this often so proxies keep them open (default 15 s). */
  streamHeartbeatMs: number;
  /** Open live streams, ended when the server closes. */
  streams: Set<() => void>;
}
