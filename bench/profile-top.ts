/** `node dist/bench/profile-top.js <file.cpuprofile> [n]`: the top self-time functions and origins of one profile. */
import { summariseProfile } from './profile.js';

const [file, n] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node dist/bench/profile-top.js <file.cpuprofile> [top]\n');
  process.exit(2);
}
const s = summariseProfile(file, Number(n ?? 25));
process.stdout.write(`${file}: ${s.totalMs.toFixed(0)} ms sampled, ${s.idleMs.toFixed(0)} ms idle\n`);
for (const f of s.functions) process.stdout.write(`${(f.share * 100).toFixed(1).padStart(5)} %  ${f.selfMs.toFixed(0).padStart(6)} ms  ${f.name}  ${f.where}\n`);
process.stdout.write('by origin:\n');
for (const o of s.origins) process.stdout.write(`${(o.share * 100).toFixed(1).padStart(5)} %  ${o.selfMs.toFixed(0).padStart(6)} ms  ${o.origin}\n`);
