/**
 * Static checks of `js` tasks whose `with.module` is a literal path: the file exists, and when it is
 * an ES module, it exports `with.export`, as something that may be a function. The module is parsed
 * with acorn, never imported: validating a workflow must not run its code. A CommonJS module, or an
 * `export * from`, cannot be read this way without running it, so its exports are left to the worker.
 */
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "acorn";
import { closest, quote, type Problem } from "./diagnostics.js";
import { EXPRESSION_STRING } from "./action-arguments.js";
import type { WorkflowSpec } from "./spec.js";

type Path = (string | number)[];

/**
 * The problems of the spec's `js` tasks (and undos) with literal module paths, resolved as the worker
 * resolves them: against `baseDir`, the workflow file's directory.
 *
 * @example
 * jsModuleProblems(spec, path.dirname("/work/flows/etl.yaml"))
 */
export function jsModuleProblems(spec: WorkflowSpec, baseDir: string): Problem[] {
  const problems: Problem[] = [];
  const cache = new Map<string, Exports | string>();
  for (const [name, task] of Object.entries(spec.tasks)) {
    const uses: [string, Record<string, unknown>, Path][] = [[task.action, task.with, ["with"]]];
    if (task.undo) uses.push([task.undo.action, task.undo.with, ["undo", "with"]]);
    for (const [action, args, base] of uses) {
      if (action !== "js") continue;
      const report = (field: string, message: string) =>
        problems.push({
          path: ["tasks", name, ...base, field],
          task: name,
          message: `task ${quote(name)}: ${message}`,
        });
      const specifier = args.module;
      if (typeof specifier !== "string" || EXPRESSION_STRING.test(specifier)) continue;
      const where = base.join(".");
      const file = resolve(specifier, baseDir);
      if (file === undefined) {
        report("module", `"${where}.module" is ${quote(specifier)}, which is not a valid file: URL`);
        continue;
      }
      if (!cache.has(file)) cache.set(file, readExports(file));
      const found = cache.get(file)!;
      if (typeof found === "string") {
        report("module", `"${where}.module" is ${quote(specifier)}, ${found} (resolved to "${file}")`);
        continue;
      }
      const exportName = args.export ?? "default";
      if (typeof exportName !== "string" || EXPRESSION_STRING.test(exportName) || found.open) continue;
      const kind = found.names.get(exportName);
      if (kind === undefined) {
        const names = [...found.names.keys()];
        const guess = closest(exportName, names);
        const hint = guess === undefined ? "" : ` (did you mean "${guess}"?)`;
        report(
          "export",
          `"${where}.export" is ${quote(exportName)}, but module ${quote(specifier)} has no such export${hint}; it exports ${names.join(", ") || "nothing"}`,
        );
      } else if (kind === "value") {
        report(
          "export",
          `"${where}.export" is ${quote(exportName)}, but in module ${quote(specifier)} it is a constant value, not a function`,
        );
      }
    }
  }
  return problems;
}

/** What an ES module exports: each name, and whether it is certainly not a function. */
interface Exports {
  names: Map<string, "function" | "unknown" | "value">;
  /** true when the names cannot be known statically (CommonJS, `export * from`). */
  open: boolean;
}

function resolve(specifier: string, baseDir: string): string | undefined {
  if (!specifier.startsWith("file:")) return path.resolve(baseDir, specifier);
  try {
    return fileURLToPath(specifier);
  } catch {
    return undefined;
  }
}

/** The module's exports, or why it cannot be a module. */
function readExports(file: string): Exports | string {
  let source: string;
  try {
    if (!statSync(file).isFile()) return "which is not a file";
    source = readFileSync(file, "utf8");
  } catch {
    return "which is not an existing file";
  }
  if (file.endsWith(".cjs")) return { names: new Map(), open: true };
  let program: AcornNode;
  try {
    program = parse(source, {
      ecmaVersion: "latest",
      sourceType: "module",
      allowHashBang: true,
    }) as AcornNode;
  } catch {
    // Not an ES module (or not valid yet): the worker reports what import() says.
    return { names: new Map(), open: true };
  }
  const names = new Map<string, "function" | "unknown" | "value">();
  let esm = false;
  let open = false;
  for (const node of program.body ?? []) {
    if (node.type === "ImportDeclaration") esm = true;
    if (node.type === "ExportDefaultDeclaration") {
      esm = true;
      names.set("default", kindOf(node.declaration));
    } else if (node.type === "ExportAllDeclaration") {
      esm = true;
      if (node.exported) names.set(nameOf(node.exported), "unknown");
      else open = true;
    } else if (node.type === "ExportNamedDeclaration") {
      esm = true;
      const declaration = node.declaration;
      if (declaration?.id) names.set(nameOf(declaration.id), kindOf(declaration));
      for (const declarator of declaration?.declarations ?? []) {
        if (declarator.id?.type === "Identifier") names.set(nameOf(declarator.id), kindOf(declarator.init));
        else open = true; // a destructuring export: its names are not worth reading here
      }
      for (const specifier of node.specifiers ?? []) names.set(nameOf(specifier.exported!), "unknown");
    }
  }
  // No import or export at all: a CommonJS module, whose exports only running it reveals.
  return { names, open: open || !esm };
}

/** The little of acorn's ESTree nodes read here. */
interface AcornNode {
  type: string;
  body?: AcornNode[];
  declaration?: AcornNode | null;
  declarations?: AcornNode[];
  specifiers?: AcornNode[];
  exported?: AcornNode | null;
  id?: AcornNode | null;
  init?: AcornNode | null;
  name?: string;
  value?: unknown;
}

function nameOf(node: AcornNode): string {
  return node.type === "Identifier" ? node.name! : String(node.value);
}

function kindOf(node: AcornNode | null | undefined): "function" | "unknown" | "value" {
  if (!node) return "value";
  if (/^(Function|ArrowFunction|Class)(Declaration|Expression)$/.test(node.type)) return "function";
  if (["Literal", "ObjectExpression", "ArrayExpression", "TemplateLiteral"].includes(node.type))
    return "value";
  return "unknown";
}
