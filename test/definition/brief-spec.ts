/** The brief's example workflow (test/fixtures/valid/brief.yaml), as it must compile. */
import type { WorkflowSpec } from "../../src/definition/index.js";

const retry = { attempts: 3, backoff: 200, factor: 2, maxBackoff: 10_000, interruptions: 3 };

/** Defaults applied, durations in ms, dependsOn computed. */
export const BRIEF_SPEC: WorkflowSpec = {
  name: "etl",
  version: 1,
  description: "demo",
  inputs: { count: { type: "number", default: 3, required: false } },
  tasks: {
    extract: {
      action: "shell",
      with: { command: "echo 42" },
      dependsOn: [],
      after: [],
      trigger: "all_success",
      allowFailure: false,
      retry,
      timeout: 30_000,
    },
    double: {
      action: "js",
      with: { module: "./tasks.mjs", export: "double", args: { n: "${{ tasks.extract.output.stdout }}" } },
      dependsOn: ["extract"],
      after: [],
      trigger: "all_success",
      allowFailure: false,
      retry,
      timeout: 30_000,
    },
    approve: {
      action: "delegate",
      with: {},
      dependsOn: ["double"],
      after: ["double"],
      trigger: "all_success",
      allowFailure: false,
      retry,
      timeout: 3_600_000,
    },
    load: {
      action: "echo",
      with: { message: "loaded ${{ tasks.double.output }}" },
      dependsOn: ["approve", "double"],
      after: ["approve"],
      when: "${{ inputs.count > 1 }}",
      trigger: "all_success",
      allowFailure: false,
      retry,
      timeout: 30_000,
      undo: { action: "echo", with: { message: "rollback" } },
      description: "loads",
    },
  },
  output: "${{ tasks.double.output }}",
  timeout: 3_600_000,
};
