/*
 * One <script src="https://cc.example.com/widget/embed.js" async></script> on a website gives it a
 * chat button that opens the widget in an iframe (the host page's CSS cannot reach inside).
 * Optional attributes on the script tag: data-label (button text), data-position (right|left).
 * No imports and no exports: the bundle is a classic script.
 */
(() => {
  const script = document.currentScript as HTMLScriptElement | null;
  const origin = script ? new URL(script.src, location.href).origin : location.origin;
  const label = script?.dataset.label ?? 'Chat with us';
  const side = script?.dataset.position === 'left' ? 'left' : 'right';
  const host = document.createElement('div');
  host.setAttribute('data-cc-widget', '');
  // A shadow root keeps the page's styles off the button as the iframe keeps them off the chat.
  const root = host.attachShadow({ mode: 'open' });
  root.innerHTML = `
    <style>
      :host { all: initial; }
      button { position: fixed; bottom: 20px; ${side}: 20px; z-index: 2147483646; border: 0; border-radius: 999px;
        padding: 14px 20px; font: 600 15px/1 system-ui, sans-serif; color: #fff; background: #2255d4; cursor: pointer;
        box-shadow: 0 4px 14px rgba(0,0,0,.25); }
      button:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
      iframe { position: fixed; bottom: 84px; ${side}: 20px; z-index: 2147483647; width: 370px; height: min(600px, calc(100vh - 104px));
        border: 0; border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.3); background: #fff; }
      @media (max-width: 480px) { iframe { left: 0; right: 0; top: 0; bottom: auto; width: 100%; height: calc(100vh - 76px); border-radius: 0 0 12px 12px; } }
      [hidden] { display: none; }
    </style>
    <iframe title="Chat" src="${origin}/widget/" hidden></iframe>
    <button type="button" aria-expanded="false"></button>`;
  const button = root.querySelector('button')!;
  const frame = root.querySelector('iframe')!;
  button.textContent = label;
  button.addEventListener('click', () => {
    const open = frame.hidden;
    frame.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    button.textContent = open ? 'Close chat' : label;
  });
  (document.body ?? document.documentElement).appendChild(host);
})();
