import { spawnSync } from 'child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const ROOT = join(__dirname, '..');

function check(root: string) {
  const run = spawnSync(process.execPath, [join(ROOT, 'deploy', 'check-deploy-files.mjs'), root], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

// The form check CI relies on (no Docker engine or cluster here): see deploy/check-deploy-files.mjs.
describe('Deployment files', () => {
  it('docker-compose.yml, deploy/kubernetes and the Dockerfile pass the form check', () => {
    const { status, output } = check(ROOT);
    expect(output).toContain('well-formed');
    expect(status).toBe(0);
  });

  it('the check catches broken files (a compose typo, a wrong Kubernetes type, a root runtime user)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-deploy-'));
    try {
      for (const f of ['Dockerfile', 'docker-compose.yml', 'deploy']) cpSync(join(ROOT, f), join(dir, f), { recursive: true });
      const edit = (file: string, from: string | RegExp, to: string) => writeFileSync(join(dir, file), readFileSync(join(dir, file), 'utf8').replace(from, to));
      edit('docker-compose.yml', 'stop_grace_period: 15s', 'stop_grace_periode: 15s');
      edit('deploy/kubernetes/deployment.yaml', 'replicas: 2', 'replicas: two');
      edit('deploy/kubernetes/service.yaml', 'sessionAffinity: ClientIP', 'sessionAffinity: None');
      edit('Dockerfile', /^USER node$/m, 'USER root');
      const { status, output } = check(dir);
      expect(status).toBe(1);
      expect(output).toMatch(/additional properties \(stop_grace_periode\)/);
      expect(output).toMatch(/replicas must be integer/);
      expect(output).toMatch(/sessionAffinity/);
      expect(output).toMatch(/non-root USER/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
