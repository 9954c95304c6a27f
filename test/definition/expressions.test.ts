import fc from "fast-check";
import jsonata from "jsonata";
import { describe, expect, it } from "vitest";
import {
  checkExpressionSyntax,
  evaluateCondition,
  evaluateTemplate,
  ExpressionError,
  extractExpressions,
  jsonataBoolean,
  referencedTasks,
  splitTemplate,
  type ExpressionScope,
} from "../../src/definition/index.js";
import { bracketedTasks } from "../../src/definition/references.js";
import { WeftError } from "../../src/shared/errors.js";

const scope: ExpressionScope = {
  inputs: { count: 3, name: "ada", tags: ["a", "b"], nothing: null },
  tasks: {
    extract: { output: { stdout: "42", rows: [1, 2, 3] }, status: "succeeded" },
    "load-db": { output: "done", status: "succeeded" },
  },
  execution: { id: "exec-1", workflow: "etl" },
  item: { id: 7 },
  callback: { approved: true },
};

describe("evaluateTemplate", () => {
  it("returns the raw value of a string that is exactly one expression", async () => {
    expect(await evaluateTemplate("${{ inputs.count * 2 }}", scope)).toBe(6);
    expect(await evaluateTemplate("${{ tasks.extract.output }}", scope)).toEqual({
      stdout: "42",
      rows: [1, 2, 3],
    });
    expect(await evaluateTemplate("${{ inputs.missing }}", scope)).toBeUndefined();
    expect(await evaluateTemplate("${{ item.id }}/${{ callback.approved }}", scope)).toBe("7/true");
  });

  it("interpolates: strings as is, null and undefined as nothing, other values as JSON", async () => {
    expect(await evaluateTemplate("hi ${{ inputs.name }}!", scope)).toBe("hi ada!");
    expect(await evaluateTemplate("[${{ inputs.nothing }}|${{ inputs.missing }}]", scope)).toBe("[|]");
    expect(await evaluateTemplate("tags=${{ inputs.tags }} n=${{ inputs.count }}", scope)).toBe(
      'tags=["a","b"] n=3',
    );
    expect(await evaluateTemplate(" ${{ inputs.count }}", scope)).toBe(" 3");
  });

  it("walks objects and arrays, and leaves other values alone", async () => {
    const value = {
      a: ["${{ execution.workflow }}", 1, null, true],
      b: { c: "${{ tasks.extract.output.rows }}" },
    };
    expect(await evaluateTemplate(value, scope)).toEqual({ a: ["etl", 1, null, true], b: { c: [1, 2, 3] } });
    expect(await evaluateTemplate(5, scope)).toBe(5);
  });

  it("returns plain arrays, not JSONata sequences", async () => {
    const result = await evaluateTemplate("${{ tasks.extract.output.rows[$ > 1] }}", scope);
    expect(result).toStrictEqual([2, 3]);
    expect(await evaluateTemplate({ x: "${{ [inputs.count, inputs.count] }}" }, scope)).toStrictEqual({
      x: [3, 3],
    });
  });

  it("reads names with '-' through backquotes or brackets", async () => {
    expect(await evaluateTemplate("${{ tasks.`load-db`.output }}", scope)).toBe("done");
    expect(await evaluateTemplate('${{ $lookup(tasks, "load-db").output }}', scope)).toBe("done");
  });

  it("reads object constructors whose braces look like the closing }}", async () => {
    expect(await evaluateTemplate('${{ {"a": {"b": inputs.count}} }}', scope)).toEqual({ a: { b: 3 } });
    expect(await evaluateTemplate('${{ "}}" & inputs.name }}', scope)).toBe("}}ada");
  });

  it("throws an ExpressionError quoting the expression", async () => {
    const failing = evaluateTemplate({ deep: "n=${{ inputs.name + 1 }}" }, scope);
    await expect(failing).rejects.toBeInstanceOf(ExpressionError);
    await expect(failing).rejects.toBeInstanceOf(WeftError);
    await expect(failing).rejects.toThrow(
      'expression "${{ inputs.name + 1 }}" failed: The left side of the "+" operator must evaluate to a number (at character 13)',
    );
    await expect(evaluateTemplate("${{ 1 + }}", scope)).rejects.toThrow(/is not a valid expression/);
    await expect(evaluateTemplate("${{ 1 ", scope)).rejects.toThrow(/has no closing/);
  });

  it("stops runaway recursion", async () => {
    const deep = "${{ ($f := function($n) { 1 + $f($n + 1) }; $f(0)) }}";
    await expect(evaluateTemplate(deep, scope)).rejects.toThrow(/Stack overflow/);
  });

  it("leaves strings without ${{ untouched (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string().filter((s) => !s.includes("${{")),
        async (text) => {
          expect(await evaluateTemplate(text, scope)).toBe(text);
        },
      ),
    );
  });

  it("interpolates any string literal back to itself (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string(),
        fc.string().filter((s) => !s.includes("${{")),
        async (value, prefix) => {
          const literal = JSON.stringify(value);
          expect(await evaluateTemplate(`\${{ ${literal} }}`, scope)).toBe(value);
          expect(await evaluateTemplate(`${prefix}\${{ ${literal} }}`, scope)).toBe(prefix + value);
        },
      ),
    );
  });
});

describe("evaluateCondition", () => {
  it("casts the result the way JSONata's $boolean does", async () => {
    expect(await evaluateCondition("${{ inputs.count > 1 }}", scope)).toBe(true);
    expect(await evaluateCondition("${{ inputs.count > 5 }}", scope)).toBe(false);
    expect(await evaluateCondition("${{ inputs.missing }}", scope)).toBe(false);
    expect(await evaluateCondition("${{ inputs.name }}", scope)).toBe(true);
    expect(await evaluateCondition("${{ [] }}", scope)).toBe(false);
  });

  it("matches $boolean for any JSON value (property)", async () => {
    const cast = jsonata("$boolean($v)");
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const expected = ((await cast.evaluate({}, { v: value })) as boolean | undefined) ?? false;
        expect(jsonataBoolean(value)).toBe(expected);
      }),
    );
  });
});

describe("extractExpressions and splitTemplate", () => {
  it("finds every expression body in a deep value, in order, once each", () => {
    const value = { a: "${{ x }}-${{y}}", b: ["${{ x }}", { c: "${{ tasks.a.output }}" }], d: 3 };
    expect(extractExpressions(value)).toEqual(["x", "y", "tasks.a.output"]);
    expect(extractExpressions("plain")).toEqual([]);
  });

  it("splits text and expressions and reports an unclosed ${{", () => {
    expect(splitTemplate("a${{ b }}c")).toEqual({ parts: ["a", { body: "b", source: "${{ b }}" }, "c"] });
    expect(splitTemplate("a ${{ b").error).toBe('"${{" at character 3 has no closing "}}"');
  });
});

describe("referencedTasks", () => {
  it.each([
    ["tasks.extract.output.stdout", ["extract"]],
    ['$lookup(tasks, "load-db").output', ["load-db"]],
    ['$lookup($$.tasks, "x") & $lookup(inputs, "y")', ["x"]],
    ['tasks["load-db"].output', []],
    ["tasks.`load-db`.output", ["load-db"]],
    ["$.tasks.a.output + $$.tasks.b.output", ["a", "b"]],
    ['inputs.count > 1 and tasks.b.status = "succeeded" and tasks.a.output', ["a", "b"]],
    ["$count(tasks.c.output) ? tasks.d.output : tasks.e.output", ["c", "d", "e"]],
    ["$map(inputs.xs, function($v) { $v + tasks.f.output })", ["f"]],
    ["($x := tasks.g.output; $x.y)", ["g"]],
    ['"tasks.a.output"', []],
    ["inputs.items[tasks.h = 1]", []],
    ["inputs.items.(tasks.i)", []],
    ["tasks", []],
    ["tasks.*.output", []],
    ["tasks[0]", []],
    ["tasks.a.output +", []],
  ])("%s -> %j", (body, expected) => {
    expect(referencedTasks(body)).toEqual(expected);
  });
});

describe("bracketedTasks", () => {
  it('finds tasks["NAME"], a filter in JSONata, so validation can suggest backquotes', () => {
    expect(bracketedTasks('tasks["load-db"].output & tasks.a')).toEqual(["load-db"]);
    expect(bracketedTasks("tasks.`load-db`.output")).toEqual([]);
  });
});

describe("checkExpressionSyntax", () => {
  it("answers null for valid bodies and a reason for the others", () => {
    expect(checkExpressionSyntax("tasks.a.output + 1")).toBeNull();
    expect(checkExpressionSyntax("tasks.a.output +")).toBe("Unexpected end of expression (at character 16)");
    expect(checkExpressionSyntax("")).toBe("the expression is empty");
  });
});

describe("the size of what an expression produces", () => {
  const refused = async (template: string) => {
    const error = await evaluateTemplate(template, scope).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ExpressionError);
    return (error as ExpressionError).message;
  };

  it("refuses $pad past the bound before allocating, naming the expression", async () => {
    const before = process.memoryUsage().rss;
    expect(await refused("${{ $pad('x', 5e8) }}")).toBe(
      `expression "\${{ $pad('x', 5e8) }}" failed: it would produce a string of 500,000,000 characters, more than the 10,000,000 an expression may produce (at character 5)`,
    );
    // A 5e8-character string is a gigabyte: none was built.
    expect(process.memoryUsage().rss - before).toBeLessThan(200_000_000);
  });

  it("stops a string that doubles at the first step past the bound", async () => {
    expect(await refused("${{ ($f := function($s) { $f($s & $s) }; $f('x')) }}")).toMatch(
      /failed: it would produce a string of 16,777,216 characters, more than the 10,000,000/,
    );
  });

  it("stops lists past a million items, with $join and the range operator", async () => {
    expect(await refused("${{ $join([1..2000000].('abc')) }}")).toMatch(
      /failed: it would produce a list of 2,000,000 items, more than the 1,000,000 an expression may produce/,
    );
    expect(await refused("${{ [1..1e7] }}")).toMatch(/a list of 10,000,000 items/);
    expect(await refused("${{ $join([$pad('', 6000000, 'a'), $pad('', 6000000, 'b')]) }}")).toMatch(
      /a string of 12,000,000 characters/,
    );
  });

  it("keeps $pad and $join as JSONata defines them within the bound", async () => {
    expect(await evaluateTemplate("${{ $pad('x', 4) }}|${{ $pad('x', -4, 'ab') }}", scope)).toBe("x   |abax");
    expect(await evaluateTemplate("${{ $pad('👍', 3, '🎉') }}", scope)).toBe("👍🎉🎉");
    expect(await evaluateTemplate("${{ $join(inputs.tags, '+') }}", scope)).toBe("a+b");
    expect(await evaluateTemplate("${{ $count([1..1000000]) }}", scope)).toBe(1_000_000);
  });
});
