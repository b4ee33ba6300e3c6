/** Settings and projects (SQLite). */
import type Database from 'better-sqlite3';
import { toProject, type ProjectRow } from '../rows.js';
import type { Project } from '../store.js';

const GET_SETTING = `SELECT value FROM settings WHERE key = ?`;

// Never overwrites: the first writer's value stands, and every caller reads it back.
const PUT_SETTING_IF_ABSENT = `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`;

// Overwrites: rotations (the admin token's hash, the key check after rekey).
const REPLACE_SETTING = `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;

const INSERT_PROJECT = `INSERT INTO projects (app_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (app_id) DO NOTHING`;

const GET_PROJECT = `SELECT app_id, name, created_at FROM projects WHERE app_id = ?`;

// Keyset pagination on the primary key: the cursor is the last app_id of the previous page.
const LIST_PROJECTS = `SELECT app_id, name, created_at FROM projects WHERE app_id > ? ORDER BY app_id LIMIT ?`;

export class Projects {
  private readonly getSettingStatement;
  private readonly putSettingStatement;
  private readonly replaceSettingStatement;
  private readonly insertProject;
  private readonly getProjectStatement;
  private readonly listProjectsStatement;

  constructor(db: Database.Database) {
    this.getSettingStatement = db.prepare<[string], { value: string }>(GET_SETTING);
    this.putSettingStatement = db.prepare<[string, string]>(PUT_SETTING_IF_ABSENT);
    this.replaceSettingStatement = db.prepare<[string, string]>(REPLACE_SETTING);
    this.insertProject = db.prepare<[number, string, number]>(INSERT_PROJECT);
    this.getProjectStatement = db.prepare<[number], ProjectRow>(GET_PROJECT);
    this.listProjectsStatement = db.prepare<[number, number], ProjectRow>(LIST_PROJECTS);
  }

  getSetting(key: string): string | null {
    return this.getSettingStatement.get(key)?.value ?? null;
  }

  putSettingIfAbsent(key: string, value: string): string {
    this.putSettingStatement.run(key, value);
    return this.getSettingStatement.get(key)!.value;
  }

  putSetting(key: string, value: string): void {
    this.replaceSettingStatement.run(key, value);
  }

  createProject(project: Project): 'created' | 'exists' {
    const info = this.insertProject.run(project.appId, project.name, project.createdAt);
    return info.changes === 1 ? 'created' : 'exists';
  }

  getProject(appId: number): Project | null {
    const r = this.getProjectStatement.get(appId);
    return r ? toProject(r) : null;
  }

  /** For the ingest decision, inside its transaction. */
  projectExists(appId: number): boolean {
    return this.getProjectStatement.get(appId) !== undefined;
  }

  listProjects(limit: number, cursor: number | null): Project[] {
    return this.listProjectsStatement.all(cursor ?? 0, limit).map(toProject);
  }
}
