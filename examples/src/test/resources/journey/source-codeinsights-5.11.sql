SET app.current_tenant = '1';
INSERT INTO insight_series (series_id, query, created_at, oldest_historical_at, last_recorded_at, next_recording_after, generation_method)
  SELECT 'series-' || g, 'TODO count:all', now(), now() - interval '1 year', now(), now() + interval '1 day', 'search' FROM generate_series(1, 3) g;
INSERT INTO insight_view (title, unique_id) SELECT 'Insight ' || g, 'view-' || g FROM generate_series(1, 3) g;
INSERT INTO insight_view_series (insight_view_id, insight_series_id, label, stroke) SELECT v.id, s.id, 'TODOs', '#f00' FROM insight_view v JOIN insight_series s ON s.series_id = 'series-' || v.id;
INSERT INTO dashboard (title, save) VALUES ('Team dashboard', true);
INSERT INTO repo_names (name) SELECT 'github.acme.test/acme/r' || g FROM generate_series(1, 30) g;
INSERT INTO series_points (series_id, time, value, repo_id, repo_name_id, original_repo_name_id)
  SELECT 'series-1', now() - g * interval '1 day', g, n.id, n.id, n.id FROM generate_series(1, 50) g JOIN repo_names n ON n.name = 'github.acme.test/acme/r' || (1 + g % 30);
