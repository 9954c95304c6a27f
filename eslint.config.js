// Lint guards the layering of DESIGN.md: imports point down only, and the core
// (graph/, engine/) imports nothing from node_modules. Import cycles are checked by
// test/architecture/import-cycles.test.ts (with Weft's own graph module: the usual ESLint
// plugin pulls a native resolver that the lockfile cannot pin for every platform).
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

const layers = {
  shared: [],
  graph: ["shared"],
  definition: ["shared", "graph"],
  engine: ["shared", "graph", "definition"],
  stores: ["shared", "graph", "definition", "engine"],
  worker: ["shared", "graph", "definition", "engine", "actions"],
  actions: ["shared", "graph", "definition", "engine"],
  cache: ["shared", "graph", "definition", "engine"],
  runtime: ["shared", "graph", "definition", "engine", "stores", "worker", "actions", "cache"],
  // cli/ starts the HTTP API (weft server), loading it on demand.
  cli: ["shared", "graph", "definition", "engine", "stores", "worker", "actions", "cache", "runtime", "api"],
  api: ["shared", "graph", "definition", "engine", "stores", "worker", "actions", "cache", "runtime"],
};
const all = Object.keys(layers);
const pure = new Set(["shared", "graph", "engine"]);

const layerRules = all.map((layer) => {
  const forbidden = all.filter((other) => other !== layer && !layers[layer].includes(other));
  const patterns = [];
  if (forbidden.length > 0) {
    patterns.push({
      regex: `^\\.\\.?/(?:\\.\\./)*(?:${forbidden.join("|")})(?:/|$)`,
      message: `src/${layer}/ may import only from ${layers[layer].join(", ") || "nothing of Weft"} (DESIGN.md, "Layers").`,
    });
  }
  if (pure.has(layer)) {
    patterns.push({
      regex: "^(?!\\.|node:)",
      message: `src/${layer}/ is part of the core and imports nothing from node_modules (DESIGN.md).`,
    });
  }
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: { "no-restricted-imports": ["error", { patterns }] },
  };
});

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", ".weft/", "test/fixtures/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  ...layerRules,
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { globals: { ...globals.node } },
  },
);
