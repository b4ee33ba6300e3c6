/** The one project lookup every operation starts with (its own module, so audit.ts can use it without a cycle). */
import { ReghookError } from '../errors.js';
import type { Project, Store } from '../store/store.js';

/** The project, or REGHOOK_PROJECT_NOT_FOUND (another project's id looks the same to a key: no probing). */
export async function requireProject(store: Store, appId: number): Promise<Project> {
  const project = await store.getProject(appId);
  if (!project) throw new ReghookError('REGHOOK_PROJECT_NOT_FOUND', `project ${appId} not found`);
  return project;
}
