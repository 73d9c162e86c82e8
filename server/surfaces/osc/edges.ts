// Buttons and toggles: a trigger fires on a rising edge to 1 (a button's 1.0 then 0.0 is one
// press) or on a bare message; a "change" route fires whenever the level changes. Levels are
// remembered per source and address, bounded so a flood of sources cannot grow the table.
import { toLevel } from './args.ts';
import type { OscArg } from './wire.ts';

const MAX_EDGES = 4096;

export class Edges {
  private levels = new Map<string, boolean>();

  /** Whether a message with these args fires a route with this edge, for this source. */
  fires(edge: 'rise' | 'change', key: string, args: OscArg[]): boolean {
    if (args.length === 0) return true;
    const level = toLevel(args[0]);
    const prev = this.levels.get(key);
    if (this.levels.size >= MAX_EDGES && prev === undefined) this.levels.clear();
    this.levels.set(key, level);
    return edge === 'rise' ? level && !prev : level !== prev;
  }
}
