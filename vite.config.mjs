// Builds the agent console (/console/) and the chat widget (/widget/, /widget/embed.js) into
// dist/web, which the app serves (apps/contact-center/src/platform/web-ui.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('./apps/web'),
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  resolve: {
    alias: {
      '@cc/client': here('./libs/client/src/index.ts'),
      '@cc/protocol': here('./libs/protocol/src/index.ts'),
    },
  },
  build: {
    outDir: here('./dist/web'),
    emptyOutDir: true,
    target: 'es2020',
    rolldownOptions: {
      input: {
        console: here('./apps/web/console/index.html'),
        widget: here('./apps/web/widget/index.html'),
        embed: here('./apps/web/widget/embed.ts'),
      },
      output: {
        // The embed script has a fixed address (websites include it with one <script> tag).
        entryFileNames: (chunk) => (chunk.name === 'embed' ? 'widget/embed.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
});
