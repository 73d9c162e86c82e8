// One way to turn zod issues into the short, readable reasons every surface reports.
import type { z } from 'zod';

/**
 * "path.to.field: message; other: message". Issues about the whole value are shown as the bare
 * message, or prefixed with `rootLabel` when given (e.g. "(root)" for files).
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], rootLabel?: string): string {
  return issues
    .map((i) => {
      const where = i.path.length ? i.path.join('.') : rootLabel;
      return where ? `${where}: ${i.message}` : i.message;
    })
    .join('; ');
}
