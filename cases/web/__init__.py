"""The pages people use all day, inside viewflow's frontend shell (Site, Application,
menus, Turbo navigation). Every read of cases goes through Case.objects.visible_to(user)
and every change through workflow.services, as in the API."""
