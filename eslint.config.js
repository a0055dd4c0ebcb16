// ESLint flat config: typescript-eslint (type-aware through the project service), import-x's
// no-cycle, readonly rules, and the house formatting (2-space indent, single quotes, no
// semicolons, width 120) with the core formatting rules, as no formatter is installed.
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import { createNodeResolver, importX } from 'eslint-plugin-import-x'
import tseslint from 'typescript-eslint'

/** Interface and object-type members must be `readonly` (fp-ts style: readonly everywhere). */
const readonlyMembers = [
  {
    selector: 'TSInterfaceBody > TSPropertySignature[readonly!=true]',
    message: 'Interface properties are readonly here: add `readonly`.',
  },
  {
    selector: 'TSTypeLiteral > TSPropertySignature[readonly!=true]',
    message: 'Object type properties are readonly here: add `readonly`.',
  },
]

export default defineConfig(
  {
    // asm/ is AssemblyScript: TypeScript-like, but `@inline` on functions does not parse as
    // TypeScript; the AssemblyScript compiler checks it.
    ignores: ['dist/', 'docs/', 'coverage/', 'build/', 'out/', 'node_modules/', 'asm/'],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.js', '*.mjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.tsx', '.mts', '.js', '.mjs', '.cjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx', '.mts'] },
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.tsx', '.mts', '.js', '.mjs', '.cjs', '.json', '.node'],
          extensionAlias: { '.js': ['.ts', '.js'], '.mjs': ['.mts', '.mjs'] },
        }),
      ],
    },
    rules: {
      // Structure.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // Readonly: class members never reassigned (readonly members of types: see src/ below).
      '@typescript-eslint/prefer-readonly': 'error',
      // Types.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Off: the tensor axes brand is optional, so every `as Tensor<Rank4>` that states the axes
      // reads as "unnecessary" to the checker, while it documents (and pins) the brand.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Formatting (core rules; deprecated upstream in favour of @stylistic, which is not installed).
      // indent: the core rule predates TypeScript and Prettier-style chains, so multi-line
      // ternaries, curried arrows and long type unions are left to the author.
      indent: [
        'error',
        2,
        {
          SwitchCase: 1,
          offsetTernaryExpressions: true,
          ignoredNodes: [
            'ConditionalExpression',
            'ConditionalExpression *',
            'ArrowFunctionExpression > ArrowFunctionExpression',
            'TSUnionType',
            'TSIntersectionType',
            'TSTypeParameterInstantiation',
            'TSConditionalType',
          ],
        },
      ],
      quotes: ['error', 'single', { avoidEscape: true, allowTemplateLiterals: true }],
      semi: ['error', 'never'],
      'comma-dangle': ['error', 'always-multiline'],
      // A warning: the width is a target ("about 120"), not a gate.
      'max-len': [
        'warn',
        { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true },
      ],
      'eol-last': 'error',
      'no-trailing-spaces': 'error',
    },
  },
  {
    // The library's types are readonly all the way down (fp-ts style); tests may use ad-hoc casts.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', ...readonlyMembers],
    },
  },
  {
    // Tests and properties walk heterogeneous descriptor tables (`AnyLayer`) and parsed JSON
    // fixtures: `any` flows there by design, the library sources keep the no-unsafe-* rules.
    files: ['test/**', 'props/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
)
