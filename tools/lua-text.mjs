// Node import hook: `import source from './x.lua'` yields the file's text, as tsup's `text` loader does in
// the build. Used to run TypeScript sources directly: `node --import tsx --import ./tools/lua-text.mjs file.ts`.
import { register } from 'node:module';

register('./lua-text-hooks.mjs', import.meta.url);
