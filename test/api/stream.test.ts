/** GET /v1/executions/{id}/stream: Server-Sent Events over real loopback HTTP. */
import { describe, expect, it } from "vitest";
import { EventHub, type EventListener } from "../../src/api/index.js";
import { APPROVAL, eventually, harness } from "./harness.js";

const SLOW = `name: slow
tasks:
  a: { action: sleep, with: { duration: 150ms } }
  b: { action: echo, after: a, with: { message: done } }
`;

interface Message {
  id?: string;
  event?: string;
  data?: string;
}

/** Reads a whole event stream (until the server ends it) and splits it into messages and comments. */
async function readStream(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  const text = await response.text();
  const messages: Message[] = [];
  for (const block of text.split("\n\n")) {
    const message: Message = {};
    for (const line of block.split("\n")) {
      const match = /^(id|event|data): (.*)$/.exec(line);
      if (match) message[match[1] as keyof Message] = match[2];
    }
    if (message.data !== undefined) messages.push(message);
  }
  return { text, messages };
}

describe("GET /v1/executions/{id}/stream", () => {
  it("sends the history, then live events, then an end event, and closes", async () => {
    const h = await harness({ workers: 2 });
    const url = await h.listen();
    await h.register(SLOW);
    const id = await h.start("slow");
    const { messages } = await readStream(`${url}/v1/executions/${id}/stream`);
    const events = messages.filter((m) => m.event === undefined).map((m) => JSON.parse(m.data!));
    expect(events[0].type).toBe("execution:created");
    expect(events.at(-1).type).toBe("execution:succeeded");
    expect(events.map((e) => e.type)).toContain("task:started");
    // Ids are the store's, increasing, and each message's id is its event's.
    expect(messages.filter((m) => m.event === undefined).map((m) => Number(m.id))).toEqual(
      events.map((e) => e.id),
    );
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));
    expect(messages.at(-1)).toMatchObject({ event: "end", data: '{"status":"succeeded"}' });
    const stored = (await h.call({ url: `/v1/executions/${id}/events` })).body.events;
    expect(events).toEqual(stored);

    // Reconnecting after an id (Last-Event-ID, or ?after=) sends only what came later.
    const middle = stored[2].id;
    const resumed = await readStream(`${url}/v1/executions/${id}/stream`, {
      "last-event-id": String(middle),
    });
    const resumedIds = resumed.messages.filter((m) => m.event === undefined).map((m) => Number(m.id));
    expect(resumedIds).toEqual(
      stored.filter((e: { id: number }) => e.id > middle).map((e: { id: number }) => e.id),
    );
    const past = await readStream(`${url}/v1/executions/${id}/stream?after=${stored.at(-1).id}`);
    expect(past.messages).toEqual([{ event: "end", data: '{"status":"succeeded"}' }]);
  });

  it("keeps idle connections open with comments, and lets go of clients that disconnect", async () => {
    class CountingHub extends EventHub {
      active = 0;
      override subscribe(listener: EventListener) {
        this.active += 1;
        const unsubscribe = super.subscribe(listener);
        return () => {
          this.active -= 1;
          unsubscribe();
        };
      }
    }
    const events = new CountingHub();
    const h = await harness({ events, streamHeartbeatMs: 30 });
    const url = await h.listen();
    await h.register(APPROVAL);
    const id = await h.start("approval");
    const baseline = events.active;
    const controller = new AbortController();
    const response = await fetch(`${url}/v1/executions/${id}/stream`, { signal: controller.signal });
    const reader = response.body!.getReader();
    let text = "";
    while (!text.includes(": keep-alive")) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('"type":"execution:created"');
    expect(events.active).toBe(baseline + 1);
    controller.abort();
    await eventually(() => events.active === baseline, 5_000, "the stream to let go");
  });

  it("answers 404 as JSON for an unknown execution, and 400 for a bad after", async () => {
    const h = await harness();
    const missing = await h.call({ url: "/v1/executions/nope/stream" });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: "EXECUTION_NOT_FOUND" } } });
    const bad = await h.call({ url: "/v1/executions/nope/stream?after=x" });
    expect(bad).toMatchObject({ status: 400, body: { error: { field: "query.after" } } });
  });

  it("ends open streams when the server closes", async () => {
    const h = await harness();
    const url = await h.listen();
    await h.register(APPROVAL);
    const id = await h.start("approval");
    const response = await fetch(`${url}/v1/executions/${id}/stream`);
    const body = response.text();
    await h.app.close();
    expect(await body).toContain("execution:created");
  });
});
