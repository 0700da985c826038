// --list-tasks, --list-hosts, --list-tags, in ansible-playbook's layout.
import { selectHosts } from '../inventory/index.js';
import type { Inventory } from '../inventory/types.js';
import type { Playbook, Task } from '../playbook/types.js';
import { tagsSelect } from '../executor/select.js';

function walk(tasks: Task[], out: { name: string; tags: string[] }[]) {
  for (const t of tasks) {
    if (t.kind === 'block') walk([...t.block, ...t.rescue, ...t.always], out);
    else if (t.kind === 'module') out.push({ name: (t.role ? `${t.role.name} : ` : '') + (t.name ?? t.module), tags: t.tags });
  }
}

export function listPlaybooks(playbooks: Playbook[], inv: Inventory, o: { listTasks: boolean; listHosts: boolean; listTags: boolean; limit?: string; tags: string[]; skipTags: string[] }): string {
  const lines: string[] = [];
  for (const pb of playbooks) {
    lines.push('', `playbook: ${pb.file}`);
    pb.plays.forEach((play, i) => {
      lines.push('', `  play #${i + 1} (${play.hosts}): ${play.name}\tTAGS: [${play.tags.join(', ')}]`);
      if (o.listHosts) {
        const hosts = selectHosts(inv, play.hosts, o.limit).hosts;
        lines.push(`    pattern: ['${play.hosts}']`, `    hosts (${hosts.length}):`, ...hosts.map((h) => `      ${h}`));
      }
      const tasks: { name: string; tags: string[] }[] = [];
      walk([...play.pre_tasks, ...play.tasks, ...play.post_tasks], tasks);
      const selected = tasks.filter((t) => tagsSelect(t.tags, o.tags, o.skipTags));
      if (o.listTasks) {
        lines.push('    tasks:', ...selected.map((t) => `      ${t.name}\tTAGS: [${t.tags.join(', ')}]`));
      }
      if (o.listTags) {
        const all = [...new Set(selected.flatMap((t) => t.tags))].sort();
        lines.push(`      TASK TAGS: [${all.join(', ')}]`);
      }
    });
  }
  return `${lines.join('\n')}\n`;
}
