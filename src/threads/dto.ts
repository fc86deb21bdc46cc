/** Query-string schemas of the threads endpoints. */
import { z } from 'zod';
import { THREADS_LIST_LIMIT_DEFAULT, THREADS_LIST_LIMIT_MAX } from './threads.constants.js';

const last = (v: unknown) => (Array.isArray(v) ? v[v.length - 1] : v);

export const pageQuerySchema = z.object({
  limit: z.preprocess(
    last,
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v === '') return THREADS_LIST_LIMIT_DEFAULT;
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > THREADS_LIST_LIMIT_MAX) {
          ctx.addIssue({ code: 'custom', message: `limit must be an integer from 1 to ${THREADS_LIST_LIMIT_MAX}` });
          return z.NEVER;
        }
        return Number(v);
      }),
  ),
  cursor: z.preprocess(last, z.string().optional()),
});
export type PageQuery = z.infer<typeof pageQuerySchema>;
