-- Argo CD health of a martech-guardrails object (every kind: the
-- controllers write the same status shape, kstatus-style conditions).
--   Progressing: the controller has not observed this generation yet
--                (no status.observedGeneration, or an older one), or it is
--                reconciling, or waiting (Ready=False, not Stalled).
--   Degraded:    Stalled=True (a policy denies it, it does not compile, an
--                exception expired) or phase Blocked.
--   Healthy:     Ready=True for the current generation.
local hs = {}
local generation = 0
if obj.metadata ~= nil and obj.metadata.generation ~= nil then
  generation = obj.metadata.generation
end
if obj.status == nil or obj.status.observedGeneration == nil or obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe generation " .. tostring(generation)
  return hs
end
local ready, stalled, reconciling = nil, nil, nil
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then
      ready = c
    elseif c.type == "Stalled" then
      stalled = c
    elseif c.type == "Reconciling" then
      reconciling = c
    end
  end
end
local function text(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c ~= nil and c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = text(stalled, "Stalled")
  return hs
end
if obj.status.phase == "Blocked" then
  hs.status = "Degraded"
  hs.message = text(ready, "Blocked")
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = text(reconciling, "Reconciling")
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text(ready, "Ready")
  return hs
end
hs.status = "Progressing"
hs.message = text(ready, "Waiting for Ready")
return hs
