/** Settings and projects (PostgreSQL). */
import type pg from 'pg';
import { toProject, type ProjectRow } from '../rows.js';
import type { Project } from '../store.js';

const GET_SETTING = { name: 'get_setting', text: `SELECT value FROM settings WHERE key = $1` };

// Never overwrites: the first writer's value stands, and every caller reads it back.
const PUT_SETTING_IF_ABSENT = { name: 'put_setting', text: `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING` };

// Overwrites: rotations (the admin token's hash, the key check after rekey).
const REPLACE_SETTING = `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;

const INSERT_PROJECT = {
  name: 'insert_project',
  text: `INSERT INTO projects (app_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (app_id) DO NOTHING`,
};

const GET_PROJECT = { name: 'get_project', text: `SELECT app_id, name, created_at FROM projects WHERE app_id = $1` };

// Keyset pagination on the primary key: the cursor is the last app_id of the previous page.
const LIST_PROJECTS = { name: 'list_projects', text: `SELECT app_id, name, created_at FROM projects WHERE app_id > $1 ORDER BY app_id LIMIT $2` };

export class Projects {
  constructor(private readonly pool: pg.Pool) {}

  async getSetting(key: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ value: string }>({ ...GET_SETTING, values: [key] });
    return rows[0]?.value ?? null;
  }

  async putSettingIfAbsent(key: string, value: string): Promise<string> {
    await this.pool.query({ ...PUT_SETTING_IF_ABSENT, values: [key, value] });
    return (await this.getSetting(key))!;
  }

  async putSetting(key: string, value: string): Promise<void> {
    await this.pool.query(REPLACE_SETTING, [key, value]);
  }

  async createProject(project: Project): Promise<'created' | 'exists'> {
    const { rowCount } = await this.pool.query({ ...INSERT_PROJECT, values: [project.appId, project.name, project.createdAt] });
    return rowCount === 1 ? 'created' : 'exists';
  }

  async getProject(appId: number): Promise<Project | null> {
    const { rows } = await this.pool.query<ProjectRow>({ ...GET_PROJECT, values: [appId] });
    return rows[0] ? toProject(rows[0]) : null;
  }

  async listProjects(limit: number, cursor: number | null): Promise<Project[]> {
    const { rows } = await this.pool.query<ProjectRow>({ ...LIST_PROJECTS, values: [cursor ?? 0, limit] });
    return rows.map(toProject);
  }
}
