// What a viewer asks for in its query string: /frames?format=jpeg&size=256&quality=80, or
// /frames?format=latent (the latents, drawn by the browser; no size or quality to choose).
import { z } from 'zod';
import type { EncodeRequest } from '../frames/frame.ts';
import { describeIssues } from '../zod-issues.ts';

const querySchema = z.strictObject({
  format: z.enum(['jpeg', 'rgba'], { error: 'format must be jpeg or rgba (or latent, on /frames)' }).default('jpeg'),
  size: z.coerce.number({ error: 'size must be a number' }).int('size must be an integer').min(8, 'size must be >= 8').max(4096, 'size must be <= 4096').optional(),
  quality: z.coerce.number().int().min(1, 'quality must be 1-100').max(100, 'quality must be 1-100').optional(),
  token: z.string().optional(),
});

export function viewerRequest(url: URL, defaultQuality: number): EncodeRequest {
  const q = querySchema.safeParse(Object.fromEntries(url.searchParams));
  if (!q.success) throw new Error(describeIssues(q.error.issues));
  return { format: q.data.format, size: q.data.size ?? null, quality: q.data.quality ?? defaultQuality };
}

const latentSchema = z.strictObject(
  { format: z.literal('latent'), token: z.string().optional() },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `format=latent takes no ${issue.keys.join(', ')} (the browser draws the picture at the model's size)` : undefined) },
);

/** Validate a /frames?format=latent query. */
export function latentRequest(url: URL): 'latent' {
  const q = latentSchema.safeParse(Object.fromEntries(url.searchParams));
  if (!q.success) throw new Error(describeIssues(q.error.issues));
  return 'latent';
}
