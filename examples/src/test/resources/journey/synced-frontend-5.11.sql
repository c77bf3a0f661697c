-- A new 5.11 instance that already started and synced: its admin signed up, the same code host was added again,
-- and the sync found more repositories in another order, so its repo ids differ from the old instance's.
SET app.current_tenant = '1';
INSERT INTO users (username, display_name, site_admin) VALUES ('admin', 'Admin', true);
INSERT INTO external_services (kind, display_name, config) VALUES
  ('GITHUB', 'GitHub (new instance)', '{"url": "https://github.acme.test", "token": "ghp_new", "repos": []}');
INSERT INTO repo (name, external_id, external_service_type, external_service_id, private)
  SELECT 'github.acme.test/acme/r' || g, 'R' || g, 'github', 'https://github.acme.test/', false FROM generate_series(40, 1, -1) g;
INSERT INTO external_service_repos (external_service_id, repo_id, clone_url)
  SELECT (SELECT min(id) FROM external_services), id, 'https://' || name || '.git' FROM repo;
UPDATE gitserver_repos SET clone_status = 'cloned', shard_id = 'gitserver-0';
INSERT INTO user_external_accounts (user_id, service_type, service_id, account_id, client_id)
  SELECT id, 'github', 'https://github.acme.test/', 'gh-admin', 'client' FROM users WHERE username = 'admin';
INSERT INTO user_repo_permissions (user_id, repo_id, user_external_account_id, source)
  SELECT a.user_id, r.id, a.id, 'user_sync' FROM user_external_accounts a, repo r WHERE r.id % 2 = 0;
