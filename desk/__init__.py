"""The pages people use all day, inside viewflow's frontend shell (Site, Application,
menus, Turbo navigation). Every read of cases goes through the rule of reach
(workflow.permissions) and every change through workflow.services, as in the API."""
