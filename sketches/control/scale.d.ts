// Types of scale.js (slider scales of walk parameters), for TypeScript callers such as the tests.
export interface ParamInfo {
  min: number;
  max: number;
  step?: number;
}
export const POSITIONS: number;
export function isLog(p: ParamInfo): boolean;
export function isToggle(p: ParamInfo): boolean;
export function toUnit(p: ParamInfo, v: number): number;
export function fromUnit(p: ParamInfo, u: number): number;
export function nudge(p: ParamInfo, v: number, dir: number, fine?: boolean): number;
