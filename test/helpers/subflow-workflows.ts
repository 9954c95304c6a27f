/** The workflows the sub-workflow tests share: a child that fails until its third run, and its parent. */

/** Counts its runs in `inputs.file` (one line each) and fails until the third: its output is the count. */
export const FLAKY_CHILD = `
name: flaky
inputs:
  file: { type: string }
tasks:
  count:
    action: shell
    with:
      command: 'echo run >> "$FILE"; n=$(wc -l < "$FILE" | tr -d " "); [ "$n" -ge 3 ] || exit 1; echo "$n"'
      env: { FILE: "\${{ inputs.file }}" }
output: "\${{ tasks.count.output.stdout }}"
`;

/** Runs `flaky` as a sub-workflow with three attempts; `output` is its workflow output template. */
export function retryingParent(output: string): string {
  return `
name: parent
inputs:
  file: { type: string }
tasks:
  sub:
    action: workflow
    with: { workflow: flaky, input: { file: "\${{ inputs.file }}" } }
    retry: { attempts: 3, backoff: 10ms }
output: ${output}
`;
}
