SET app.current_tenant = '1';
INSERT INTO users (username, display_name, site_admin) SELECT 'user' || g, 'User ' || g, g = 1 FROM generate_series(1, 20) g;
INSERT INTO user_emails (user_id, email, verified_at, is_primary) SELECT id, username || '@acme.test', now(), true FROM users;
INSERT INTO orgs (name, display_name) VALUES ('acme', 'Acme'), ('initech', 'Initech');
INSERT INTO org_members (org_id, user_id) SELECT o.id, u.id FROM users u JOIN orgs o ON o.name = CASE WHEN u.id % 2 = 0 THEN 'acme' ELSE 'initech' END;
INSERT INTO external_services (kind, display_name, config) VALUES
  ('GITHUB', 'GitHub', '{"url": "https://github.acme.test", "token": "ghp_fake", "repos": ["acme/r1"]}'),
  ('GITLAB', 'GitLab', '{"url": "https://gitlab.acme.test", "token": "glpat-fake", "projectQuery": ["none"]}');
INSERT INTO repo (name, external_id, external_service_type, external_service_id, private, description)
  SELECT 'github.acme.test/acme/r' || g, 'R' || g, 'github', 'https://github.acme.test/', g % 3 = 0, 'repo ' || g FROM generate_series(1, 30) g;
INSERT INTO external_service_repos (external_service_id, repo_id, clone_url)
  SELECT (SELECT id FROM external_services WHERE kind = 'GITHUB'), id, 'https://' || name || '.git' FROM repo;
INSERT INTO repo_kvps (repo_id, key, value) SELECT id, 'owner', 'team-' || (id % 3) FROM repo;
INSERT INTO user_external_accounts (user_id, service_type, service_id, account_id, client_id)
  SELECT id, 'github', 'https://github.acme.test/', 'gh' || id, 'client' FROM users;
INSERT INTO user_repo_permissions (user_id, repo_id, user_external_account_id, source)
  SELECT a.user_id, r.id, a.id, 'user_sync' FROM user_external_accounts a JOIN repo r ON r.private AND r.id % 5 = a.user_id % 5;
INSERT INTO batch_specs (rand_id, raw_spec, user_id, namespace_user_id) SELECT 'spec' || g, 'name: change-' || g, 1, 1 FROM generate_series(1, 3) g;
INSERT INTO batch_changes (name, batch_spec_id, namespace_user_id, creator_id, last_applier_id, last_applied_at)
  SELECT 'change-' || s.id, s.id, 1, 1, 1, now() FROM batch_specs s;
INSERT INTO changesets (repo_id, external_service_type, computed_state, batch_change_ids, external_id, publication_state, reconciler_state, external_state)
  SELECT r.id, 'github', 'OPEN', jsonb_build_object(b.id::text, '{}'::jsonb), 'PR' || r.id, 'PUBLISHED', 'completed', 'OPEN'
  FROM repo r JOIN batch_changes b ON b.id = 1 + r.id % 3 WHERE r.id % 2 = 0;
INSERT INTO search_contexts (name, description, public, namespace_org_id) SELECT 'backend', 'Backend repositories', true, id FROM orgs WHERE name = 'acme';
INSERT INTO search_context_repos (search_context_id, repo_id, revision) SELECT c.id, r.id, 'main' FROM search_contexts c, repo r WHERE r.id % 4 = 0;
INSERT INTO saved_searches (description, query, user_id) SELECT 'TODOs of ' || username, 'TODO', id FROM users WHERE id <= 5;
INSERT INTO settings (org_id, user_id, contents) VALUES (NULL, NULL, '{"search.defaultPatternType": "regexp"}');
INSERT INTO settings (org_id, user_id, contents) SELECT NULL, id, '{"theme": "dark"}' FROM users WHERE id <= 3;
INSERT INTO lsif_configuration_policies (repository_id, name, type, pattern, retention_enabled, retain_intermediate_commits, indexing_enabled, index_intermediate_commits)
  SELECT id, 'keep ' || name, 'GIT_TREE', 'HEAD', true, false, true, false FROM repo WHERE id % 7 = 0;
INSERT INTO event_logs (name, url, user_id, anonymous_user_id, source, argument, version, "timestamp")
  SELECT 'ViewRepository', 'https://sourcegraph.acme.test/', 1 + g % 20, '', 'WEB', '{}', '5.11.6271', now() - g * interval '1 minute' FROM generate_series(1, 200) g;
