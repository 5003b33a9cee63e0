/**
 * DATA_ROOT (what jobs may read) and ARTIFACT_ROOT (where training writes models)
 * must be apart: with one inside the other, a job's data could pass for a model
 * or a model for data. Compared after resolving symlinks, for folders that may not
 * exist yet as well.
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { KilnError } from '../core/errors';

/** The real path of `path`: its deepest existing ancestor resolved, the rest appended. */
export function realPathOf(path: string): string {
  if (existsSync(path)) return realpathSync(path);
  const parent = dirname(path);
  return parent === path ? path : join(realPathOf(parent), basename(path));
}

const inside = (child: string, parent: string) => child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

export function checkRootsApart(dataRoot: string, artifactRoot: string): void {
  const data = realPathOf(dataRoot);
  const artifacts = realPathOf(artifactRoot);
  if (!inside(data, artifacts) && !inside(artifacts, data)) return;
  const how = data === artifacts ? 'are the same folder' : inside(artifacts, data) ? 'overlap: ARTIFACT_ROOT is inside DATA_ROOT' : 'overlap: DATA_ROOT is inside ARTIFACT_ROOT';
  throw new KilnError(
    'BAD_CONFIG',
    `ARTIFACT_ROOT (${artifacts}) and DATA_ROOT (${data}) ${how}; give them separate folders (by default DATA_ROOT is <project>/data and ARTIFACT_ROOT is KILN_STATE_DIR/artifacts)`,
  );
}
