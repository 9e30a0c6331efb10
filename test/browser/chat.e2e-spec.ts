import { createServer } from 'http';
import { AddressInfo } from 'net';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { ContactCenter } from '../factories/contact-center.factory';
import { createTestApp, loginAdmin, TEST_ADMIN, TestApp } from '../utils/create-test-app';
import { ensureWebBuilt, HAVE_CHROMIUM, LAPTOP, launchChromium, PHONE, screenshot, see } from './browser';

const describeInBrowser = HAVE_CHROMIUM ? describe : describe.skip;

/** The console and the widget in a real Chromium, against the real server. */
describeInBrowser('Console and widget in a browser (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    ensureWebBuilt();
    t = await createTestApp();
    cc = new ContactCenter(t, await loginAdmin(t));
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await t?.close();
  });

  async function page(viewport: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext({ viewport, baseURL: t.url });
    contexts.push(context);
    const p = await context.newPage();
    p.setDefaultTimeout(15_000);
    return p;
  }

  async function signIn(p: Page, email: string, password: string): Promise<void> {
    await p.goto('/console/');
    await p.getByRole('textbox', { name: 'Email' }).fill(email);
    await p.getByRole('textbox', { name: 'Password' }).fill(password);
    await p.getByRole('button', { name: 'Sign in' }).click();
  }

  it('runs a whole chat: sign in, log in, position while paused, resume, typing, messages, reload, network drop, resolve; the admin sees the queue', async () => {
    const agentHandle = await cc.agent({ name: 'Alice Agent' }, { login: false });

    // The agent signs in and logs in, then pauses.
    const agent = await page(LAPTOP);
    await signIn(agent, agentHandle.email, 'secret-pass');
    const state = agent.getByRole('status', { name: 'Agent state' });
    await see.text(state, 'offline');
    await agent.getByRole('button', { name: 'Log in' }).click();
    await see.text(state, 'available');
    await agent.getByRole('button', { name: 'Pause' }).click();
    await see.text(state, 'paused');

    // A customer starts a chat and waits first in line.
    const customer = await page(PHONE);
    await customer.goto('/widget/');
    await customer.getByRole('textbox', { name: 'Your name' }).fill('Ann Customer');
    await customer.getByRole('button', { name: 'Start chat' }).click();
    await see.visible(customer.getByText('Position 1'));
    await screenshot(customer, 'widget-waiting');

    // The admin's queue table shows the waiting conversation.
    const admin = await page(LAPTOP);
    await signIn(admin, TEST_ADMIN.email, TEST_ADMIN.password);
    const queues = admin.getByRole('table', { name: 'Queues' });
    const defaultRow = queues.getByRole('row').filter({ has: admin.getByRole('rowheader', { name: 'default' }) });
    await see.exactText(defaultRow.getByRole('cell').first(), '1');
    await see.text(admin.getByRole('table', { name: 'Agents' }), 'Alice Agent');
    await screenshot(admin, 'console-admin-waiting');

    // The admin adds an agent (what a newcomer does first on a fresh install); it is listed.
    await admin.getByRole('textbox', { name: 'Name', exact: true }).fill('Bob Agent');
    await admin.getByRole('textbox', { name: 'Agent email' }).fill('bob@example.com');
    await admin.getByRole('textbox', { name: 'Agent password' }).fill('bob-secret');
    await admin.getByRole('button', { name: 'Add agent' }).click();
    await see.text(admin.getByRole('table', { name: 'Agents' }), 'Bob Agent');
    await see.text(admin.getByRole('table', { name: 'Agents' }).getByRole('row').filter({ hasText: 'Bob Agent' }), 'offline');

    // The agent resumes and gets the conversation; the customer sees who answers.
    await agent.getByRole('button', { name: 'Resume' }).click();
    const conversations = agent.getByRole('list', { name: 'Conversations' });
    await see.visible(conversations.getByRole('listitem').filter({ hasText: 'Ann Customer' }));
    await see.text(state, 'available'); // 1 of its 2 slots (default maxConcurrent)
    await see.visible(customer.getByText('You are chatting with Alice Agent'));
    await see.exactText(defaultRow.getByRole('cell').first(), '0');
    await see.text(admin.getByRole('table', { name: 'Agents' }).getByRole('row').filter({ hasText: 'Alice Agent' }), 'available');

    // Typing shows on the other side, then the messages cross.
    const customerMessage = customer.getByRole('textbox', { name: 'Message' });
    await customerMessage.pressSequentially('Hello, my order', { delay: 20 });
    await see.visible(agent.getByText('Ann Customer is typing…'));
    await customerMessage.pressSequentially(' has not arrived');
    await customer.getByRole('button', { name: 'Send' }).click();
    const agentLog = agent.getByRole('log', { name: 'Messages' });
    await see.text(agentLog, 'Hello, my order has not arrived');
    await see.hidden(agent.getByText('Ann Customer is typing…'));

    const agentMessage = agent.getByRole('textbox', { name: 'Message' });
    await agentMessage.pressSequentially('Sorry to hear that', { delay: 20 });
    await see.visible(customer.getByText('Alice Agent is typing…'));
    await screenshot(customer, 'widget-agent-typing');
    await agentMessage.pressSequentially(', let me check.');
    await agent.getByRole('button', { name: 'Send' }).click();
    const customerLog = customer.getByRole('log', { name: 'Messages' });
    await see.text(customerLog, 'Sorry to hear that, let me check.');
    await screenshot(agent, 'console-agent-chat');

    // The customer reloads mid-chat: the session and the whole history come back.
    await customer.reload();
    await see.count(customerLog.getByRole('listitem'), 2);
    await see.text(customerLog, 'Hello, my order has not arrived');
    await see.text(customerLog, 'Sorry to hear that, let me check.');
    await see.visible(customer.getByText('You are chatting with Alice Agent'));
    await screenshot(customer, 'widget-after-reload');

    // The customer's network drops while the agent writes: the message arrives once it is back.
    await customer.context().setOffline(true);
    await see.visible(customer.getByText('Connection lost. Reconnecting…'));
    await agentMessage.fill('Found it: it ships tomorrow.');
    await agent.getByRole('button', { name: 'Send' }).click();
    await see.text(agentLog, 'Found it: it ships tomorrow.');
    await screenshot(customer, 'widget-offline');
    await customer.context().setOffline(false);
    await see.hidden(customer.getByText('Connection lost. Reconnecting…'));
    await see.count(customerLog.getByRole('listitem'), 3);
    await see.text(customerLog, 'Found it: it ships tomorrow.');
    await see.count(agentLog.getByRole('listitem'), 3);

    // The agent resolves; the widget shows the end, and the agent goes to wrap-up or available.
    await agent.getByRole('button', { name: 'Resolve' }).click();
    await see.visible(customer.getByText('This chat has ended'));
    await see.count(customer.getByRole('button', { name: 'End chat' }), 0);
    await see.text(state, /wrap-up|available/);
    await screenshot(customer, 'widget-ended');
    await screenshot(agent, 'console-agent-resolved');
    await screenshot(admin, 'console-admin-after');

    // The agent logs off.
    await agent.getByRole('button', { name: 'Log off' }).click();
    await see.text(state, 'offline');
  }, 180_000);

  it('offers a conversation to the agent, who accepts it with Accept (queues with offerTimeoutSeconds)', async () => {
    const queue = await cc.queue({ channels: ['web'], priority: 100, offerTimeoutSeconds: 60 });
    const handle = await cc.agent({ name: 'Olga Offer', queueIds: [queue.id] }, { login: false });
    const agent = await page(LAPTOP);
    await signIn(agent, handle.email, 'secret-pass');
    await agent.getByRole('button', { name: 'Log in' }).click();
    await see.text(agent.getByRole('status', { name: 'Agent state' }), 'available');

    const customer = await page(PHONE);
    await customer.goto('/widget/');
    await customer.getByRole('textbox', { name: 'Your name' }).fill('Oscar Customer');
    await customer.getByRole('button', { name: 'Start chat' }).click();

    const item = agent.getByRole('list', { name: 'Conversations' }).getByRole('listitem').filter({ hasText: 'Oscar Customer' });
    await see.text(item, 'offered');
    await screenshot(agent, 'console-offer');
    await item.getByRole('button', { name: 'Decline' }).waitFor();
    await item.getByRole('button', { name: 'Accept' }).click();
    await see.count(item.getByRole('button', { name: 'Accept' }), 0);
    await see.visible(customer.getByText('You are chatting with Olga Offer'));
    await customer.getByRole('textbox', { name: 'Message' }).fill('Thanks for taking my chat');
    await customer.getByRole('button', { name: 'Send' }).click();
    await see.text(agent.getByRole('log', { name: 'Messages' }), 'Thanks for taking my chat');
    await agent.getByRole('button', { name: 'Resolve' }).click();
    await see.visible(customer.getByText('This chat has ended'));
    await agent.getByRole('button', { name: 'Log off' }).click();
    await see.text(agent.getByRole('status', { name: 'Agent state' }), 'offline');
  }, 120_000);

  it('lets the customer end the chat, and serves the one-tag embed script that opens the widget in an iframe', async () => {
    const host = await page(PHONE);
    // A page of "another website" on its own server (another origin) that includes the embed
    // script with one tag, and has CSS that would break an un-isolated widget.
    const shop = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(`<!doctype html><html><head><meta name="viewport" content="width=device-width"><style>button{all:unset;color:red} iframe{display:none!important}</style></head><body><h1>Shop</h1><script src="${t.url}/widget/embed.js" async></script></body></html>`);
    });
    await new Promise<void>((r) => shop.listen(0, '127.0.0.1', r));
    try {
      await host.goto(`http://localhost:${(shop.address() as AddressInfo).port}/`);
      await host.getByRole('button', { name: 'Chat with us' }).click();
      const frame = host.frameLocator('iframe[title="Chat"]');
      await frame.getByRole('textbox', { name: 'Your name' }).fill('Bob');
      await screenshot(host, 'embed-form');
      // The keyboard (Playwright's pointer hit test fails on an iframe inside a shadow root).
      await frame.getByRole('button', { name: 'Start chat' }).press('Enter');
      await see.visible(frame.getByText(/Position \d+/)); // nobody is logged in
      await screenshot(host, 'embed-open');
      await frame.getByRole('button', { name: 'End chat' }).press('Enter');
      await see.visible(frame.getByText('This chat has ended'));
    } finally {
      shop.close();
    }
    const res = await fetch(`${t.url}/widget/embed.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
  }, 120_000);
});
