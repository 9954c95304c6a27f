/**
 * `GET /v1/executions/{id}/stream`: an execution's events as Server-Sent Events. It sends the
 * history first (after `?after=` or the `Last-Event-ID` a reconnecting client sends), then new
 * events as they are appended, and ends with an `end` event once the execution ended.
 *
 * New events are found by reading the store after the last id sent: every `streamPollMs`, and at
 * once when this process's engine commits events of the execution or the store signals other
 * processes' writes. Reading the store (not forwarding in-process events) keeps one order and
 * one source of ids whichever process wrote them.
 */
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { isTerminalExecution } from "../../engine/states.js";
import { EventType, type ExecutionEvent } from "../../engine/store.js";
import type { ApiContext } from "../context.js";
import { eventsQuery, executionParams, parseRequest } from "../schemas.js";

const TERMINAL_EVENTS: ReadonlySet<string> = new Set([
  EventType.executionSucceeded,
  EventType.executionFailed,
  EventType.executionCancelled,
]);

/** A client that reads slower than this much buffered output is dropped (it may reconnect). */
const MAX_BUFFERED = 8 * 2 ** 20;

class EventStream {
  private closed = false;
  private pumping = false;
  private again = false;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly ctx: ApiContext,
    private readonly raw: ServerResponse,
    private readonly executionId: string,
    private lastId: number,
    /** The execution had ended when the client connected: hang up after the history, end event or not. */
    private endedAtStart: boolean,
  ) {}

  start(): void {
    const poll = setInterval(() => void this.pump(), this.ctx.streamPollMs);
    const beat = setInterval(() => this.write(": keep-alive\n\n"), this.ctx.streamHeartbeatMs);
    this.cleanups.push(
      () => clearInterval(poll),
      () => clearInterval(beat),
      this.ctx.runtime.store.subscribe(() => void this.pump()),
      this.ctx.events.subscribe((events) => {
        if (events.some((event) => event.executionId === this.executionId)) void this.pump();
      }),
    );
    const end = () => this.finish();
    this.ctx.streams.add(end);
    this.cleanups.push(() => this.ctx.streams.delete(end));
    this.raw.on("close", () => {
      this.close();
      // The client went away mid-stream: drop the socket too, or the server's close would wait for it.
      if (!this.raw.writableEnded) this.raw.destroy();
    });
    // Tells EventSource clients how soon to reconnect after a dropped connection.
    this.write("retry: 2000\n\n");
    void this.pump();
  }

  /** Sends what the store holds after `lastId`; ends the stream after the execution's end. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      let sawEnd = false;
      do {
        this.again = false;
        const events = await this.ctx.runtime.store.listEvents(this.executionId, this.lastId);
        for (const event of events) {
          if (this.closed) return;
          this.send(event);
          if (TERMINAL_EVENTS.has(event.type)) sawEnd = true;
        }
      } while (this.again && !this.closed);
      if ((!sawEnd && !this.endedAtStart) || this.closed) return;
      this.endedAtStart = false;
      // A retried execution runs again after its end event: look before hanging up.
      const execution = await this.ctx.runtime.store.getExecution(this.executionId);
      if (!execution || isTerminalExecution(execution.status)) this.finish(execution?.status);
    } catch (error) {
      this.ctx.logger.error(`event stream of execution ${this.executionId} failed`, {
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      this.write(`event: error\ndata: ${JSON.stringify({ message: "internal error" })}\n\n`);
      this.finish();
    } finally {
      this.pumping = false;
    }
  }

  private send(event: ExecutionEvent): void {
    if (event.id !== undefined) this.lastId = Math.max(this.lastId, event.id);
    this.write(`id: ${event.id ?? ""}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  private write(text: string): void {
    if (this.closed) return;
    this.raw.write(text);
    if (this.raw.writableLength > MAX_BUFFERED) this.finish();
  }

  /** Ends the stream: with an `end` event carrying the final status when the execution ended. */
  private finish(status?: string): void {
    if (this.closed) return;
    if (status) this.write(`event: end\ndata: ${JSON.stringify({ status })}\n\n`);
    this.close();
    this.raw.end();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }
}

/** `Last-Event-ID`, when it is an event id; anything else is ignored (a fresh start). */
function lastEventId(header: string | string[] | undefined): number {
  const text = Array.isArray(header) ? header[0] : header;
  return text !== undefined && /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : 0;
}

export function streamRoutes(app: FastifyInstance, ctx: ApiContext): void {
  ctx.routes.add(
    app,
    {
      method: "GET",
      url: "/v1/executions/:id/stream",
      operationId: "streamExecutionEvents",
      summary: "Live events of an execution, as Server-Sent Events",
      description:
        "Each message's data is one event (as in /events) and its id the event's id. The history comes " +
        "first (after `after` or Last-Event-ID), then new events; an `end` event carrying the final status closes " +
        "the stream once the execution ended. A comment every 15 s keeps idle connections open.",
      tag: "executions",
      access: "management",
      params: executionParams,
      query: eventsQuery,
      responses: {
        200: {
          description: "An event stream.",
          contentType: "text/event-stream",
          schema: z.string().describe("Server-Sent Events: `id: N`, `data: {event}`; finally `event: end`."),
        },
        404: { description: "No such execution." },
      },
    },
    async (request, reply) => {
      const { id } = parseRequest(executionParams, request.params, "path");
      const { after } = parseRequest(eventsQuery, request.query, "query");
      // Asked before the stream opens, so an unknown id still answers a JSON 404.
      const execution = await ctx.runtime.engine.getExecution(id);
      reply.hijack();
      reply.raw.writeHead(200, {
        // Headers hooks set (CORS, the request id): a hijacked reply no longer sends them itself.
        ...(reply.getHeaders() as OutgoingHttpHeaders),
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        // Proxies such as nginx would otherwise buffer the stream.
        "x-accel-buffering": "no",
      });
      const from = Math.max(after ?? 0, lastEventId(request.headers["last-event-id"]));
      new EventStream(ctx, reply.raw, id, from, isTerminalExecution(execution.status)).start();
    },
  );
}
