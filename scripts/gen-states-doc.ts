// Writes docs/states.md from the transition tables in src/engine/states.ts.
import { writeFileSync } from "node:fs";
import { statesMarkdown } from "../src/engine/states.js";

writeFileSync(new URL("../docs/states.md", import.meta.url), statesMarkdown());
