// ESLint flat config: `npm run lint:es`. TypeScript is linted type-aware (the promise rules need types: a floating or
// misused promise in a streaming server is a lost error or a stream that never ends); plain JS files (bench, scripts,
// examples, config) get the recommended rules without types. Formatting is Prettier's job (`npm run format:check`):
// eslint-config-prettier switches off every rule that would fight it.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const unusedVars = [
  'error',
  {
    args: 'after-used',
    argsIgnorePattern: '^_',
    varsIgnorePattern: '^_',
    caughtErrors: 'all',
    caughtErrorsIgnorePattern: '^_',
    destructuredArrayIgnorePattern: '^_',
    ignoreRestSiblings: true,
  },
];

export default defineConfig(
  { ignores: ['**/dist/', '**/node_modules/', 'coverage/', 'bench/results/'] },

  // TypeScript: src, libs, test, bench (everything tsconfig.json includes), with type information.
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      // Nest and Node take async callbacks in places typed as returning void (listeners, intervals): a rejection
      // there is unhandled. checksVoidReturn stays on; the few deliberate cases carry a disable with a reason.
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': unusedVars,
      // Production code has no `any`; tests are exempt below (HTTP bodies in test helpers are `any` on purpose).
      '@typescript-eslint/no-explicit-any': 'error',
      // Rejecting with an AbortSignal's reason or re-throwing a caught `unknown` is the platform's own pattern.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      // `arr[i]!` documents an index the code knows is in range (tsconfig has no noUncheckedIndexedAccess yet, so
      // the rule calls every such `!` unnecessary; removing them would make turning that option on harder).
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Async functions without `await` implement async ports (memory drivers, fakes): not a defect.
      '@typescript-eslint/require-await': 'off',
      // Import lines are left alone on purpose (no consistent-type-imports): the workspaces codemod rewrites them.
      '@typescript-eslint/consistent-type-imports': 'off',
      // The type-aware "unsafe" family (no-unsafe-assignment/member-access/call/return/argument) flags every use of a
      // parsed JSON body or an `any` from a library; the tests are full of them and a narrow type there buys nothing.
      // no-explicit-any (a warning) keeps new `any`s visible instead.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },

  // The hot window of recent events is read through the ReplaySource only: the composition root (jobs.module) builds
  // the HotCache and hands it to the live hub (which fills it) and the replay source (which reads it); nothing else
  // in the app touches it. Inside libs/event-log the same rule is dependency-cruiser's (hot-cache-behind-replay-source).
  {
    files: ['src/**/*.ts'],
    ignores: ['src/jobs/jobs.module.ts', '**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@jobstream/event-log',
              importNames: ['HotCache'],
              message: 'Read history through the ReplaySource (REPLAY_SOURCE), not the hot cache.',
            },
          ],
          patterns: [
            {
              group: ['**/jobs.constants.js'],
              importNames: ['HOT_CACHE'],
              message: 'Read history through the ReplaySource (REPLAY_SOURCE), not the hot cache.',
            },
          ],
        },
      ],
    },
  },

  // Tests and test support: jest globals come from @jest/globals imports; expect(...).rejects etc. are awaited.
  {
    files: ['test/**/*.ts', '**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/testing/**/*.ts'],
    rules: {
      // expect(fn).toThrow(obj.method) style references are fine in tests.
      '@typescript-eslint/unbound-method': 'off',
      // Response bodies in tests are untyped JSON: `(j: any) => j.id` is the honest type there.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },

  // Plain JavaScript (bench, scripts, examples, config, the test harness's build step): no type information.
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: { 'no-unused-vars': unusedVars },
  },

  // The playground's page script runs in the browser (served as a file, no build step).
  {
    files: ['src/playground/public/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser } },
  },

  // Last: switch off every stylistic rule that Prettier owns.
  prettier,
);
