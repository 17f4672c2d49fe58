// Writes packages/hybrid/data/corpus.txt: the small training corpus of the `falcon train` preset.
// Short stories generated from a seeded grammar of a small village world, so the corpus is ours to
// ship, small (~150 KB), and learnable by a tiny model on 2 CPU cores in minutes.
// Run: npx tsx tools/make-corpus.ts
import { writeFileSync } from 'node:fs';
import { Rng } from '@falcon/tensor';

const rng = new Rng(2026);
const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];

const people = ['the baker', 'the fisher', 'the old miller', 'the young weaver', 'the shepherd', 'the smith', 'the teacher', 'the little girl', 'the boy', 'the farmer'];
const animals = ['the red fox', 'the grey cat', 'the small dog', 'the white goose', 'the brown horse', 'the black crow'];
const places = ['the river', 'the market', 'the mill', 'the forest', 'the bridge', 'the hill', 'the harbour', 'the garden', 'the school', 'the well'];
const times = ['In the morning', 'At noon', 'In the evening', 'At night', 'On Sunday', 'In the spring', 'In the winter', 'After the rain'];
const things = ['warm bread', 'fresh fish', 'a basket of apples', 'a wool blanket', 'a new knife', 'a jar of honey', 'a bag of flour', 'a lantern'];
const moves = ['walks to', 'runs to', 'goes down to', 'climbs up to', 'comes back from', 'rides to'];
const acts = ['sells', 'buys', 'carries', 'finds', 'gives away', 'brings home'];
const feels = ['happy', 'tired', 'hungry', 'quiet', 'proud', 'cold', 'glad'];
const weather = ['the sun is bright', 'the wind is cold', 'the rain falls softly', 'the sky is grey', 'the snow is deep', 'the air is warm'];

function sentence(): string {
  const who = rng.uniform() < 0.75 ? pick(people) : pick(animals);
  const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
  switch (rng.int(6)) {
    case 0:
      return `${pick(times)}, ${who} ${pick(moves)} ${pick(places)}.`;
    case 1:
      return `${cap(who)} ${pick(acts)} ${pick(things)} at ${pick(places)}.`;
    case 2:
      return `${pick(times)}, ${pick(weather)}, and ${who} is ${pick(feels)}.`;
    case 3:
      return `"Good day," says ${who}. "Do you have ${pick(things)}?"`;
    case 4:
      return `${cap(who)} sees ${pick(animals)} near ${pick(places)}.`;
    default:
      return `${cap(who)} is ${pick(feels)} because ${pick(weather)}.`;
  }
}

const stories: string[] = [];
let size = 0;
while (size < 150_000) {
  const n = 3 + rng.int(5);
  const story = Array.from({ length: n }, sentence).join(' ');
  stories.push(story);
  size += story.length + 2;
}
const out = new URL('../packages/hybrid/data/corpus.txt', import.meta.url);
writeFileSync(out, stories.join('\n\n') + '\n');
console.log(`wrote ${size} characters in ${stories.length} stories to ${out.pathname}`);
