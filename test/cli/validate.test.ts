import { describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";

/** A CliIO that collects output, rooted at the repository so paths read like a user's. */
function collectingIO(): CliIO & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (text: string) => {
      io.out += text;
    },
    stderr: (text: string) => {
      io.err += text;
    },
    isTTY: false,
    cwd: process.cwd(),
    env: {},
  };
  return io;
}

describe("weft validate", () => {
  it("prints FILE: ok for each valid file and exits 0", async () => {
    const io = collectingIO();
    const code = await main(
      ["validate", "examples/etl.yaml", "examples/fan-out.yaml", "examples/approval.yaml"],
      io,
    );
    expect(code).toBe(0);
    expect(io.out).toBe("examples/etl.yaml: ok\nexamples/fan-out.yaml: ok\nexamples/approval.yaml: ok\n");
    expect(io.err).toBe("");
  });

  it("prints file:line:col diagnostics on stderr and exits 2, checking every file", async () => {
    const io = collectingIO();
    const code = await main(
      [
        "validate",
        "test/fixtures/invalid/unknown-after.yaml",
        "examples/etl.yaml",
        "test/fixtures/invalid/wrong-type.yaml",
      ],
      io,
    );
    expect(code).toBe(2);
    expect(io.out).toBe("examples/etl.yaml: ok\n");
    const lines = io.err.trimEnd().split("\n");
    expect(lines[0]).toBe(
      'test/fixtures/invalid/unknown-after.yaml:14:13: task "load": unknown task "dubble" in "after" (known tasks: approve, double, extract)',
    );
    expect(lines.slice(1).every((line) => line.startsWith("test/fixtures/invalid/wrong-type.yaml:"))).toBe(
      true,
    );
    expect(lines).toHaveLength(6);
  });

  it("reports a missing file as one line, without a stack trace", async () => {
    const io = collectingIO();
    expect(await main(["validate", "nope.yaml"], io)).toBe(2);
    expect(io.err).toBe("nope.yaml: cannot read the workflow file: it does not exist\n");
  });

  it("resolves files against the io's cwd", async () => {
    const io = { ...collectingIO(), cwd: `${process.cwd()}/examples` };
    const out: string[] = [];
    io.stdout = (text) => {
      out.push(text);
    };
    expect(await main(["validate", "etl.yaml"], io)).toBe(0);
    expect(out).toEqual(["etl.yaml: ok\n"]);
  });

  it("needs at least one file (usage error, exit 2)", async () => {
    const io = collectingIO();
    expect(await main(["validate"], io)).toBe(2);
    expect(io.err).toContain("missing required argument");
  });
});
